-- wrk script for bench/run's webhook scenarios: each request is the next line of a file
-- of signed events written by `bench/load.py file` (one file per wrk thread: PREFIX.0,
-- PREFIX.1, ...), each line "Stripe-Signature<TAB>body". A thread that reaches the end of
-- its file starts it again: those requests are duplicates, so done() prints how many
-- there were and bench/run counts them as errors. With "repeat" (the duplicate scenario:
-- files of one line) starting again is the point and is not counted.
--
--   wrk -s bench/webhook.lua URL -- PREFIX [repeat]
local threads, counter = {}, 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

-- Globals, so that done() can read them through thread:get.
wrapped = 0
local f, count_wraps

function init(args)
	f = assert(io.open(args[1] .. "." .. id, "rb"))
	count_wraps = args[2] ~= "repeat"
end

function request()
	local line = f:read("*l")
	if line == nil then
		if count_wraps then wrapped = wrapped + 1 end
		f:seek("set", 0)
		line = f:read("*l")
	end
	local tab = line:find("\t", 1, true)
	return wrk.format("POST", nil, {
		["Content-Type"] = "application/json",
		["Stripe-Signature"] = line:sub(1, tab - 1),
	}, line:sub(tab + 1))
end

function done(summary, latency, requests)
	local w = 0
	for _, t in ipairs(threads) do
		w = w + (t:get("wrapped") or 0)
	end
	io.write(string.format("Exhausted request files: %d\n", w))
end
