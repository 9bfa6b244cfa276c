-- wrk script for bench/run's API scenarios: the request is read from a file (first line
-- "METHOD PATH", then header lines, a blank line, the body). Every "{n}" in the path,
-- the headers and the body becomes TAG-RANDOM-THREAD-COUNTER, unique to each request of
-- every run (a new address per signup, a new Idempotency-Key per payment; RANDOM keeps
-- the warm-up's values from coming back in the rounds).
--
--   wrk -s bench/request.lua URL -- FILE TAG
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end

local method, path, headers, body, tag, varies

function init(args)
	local f = assert(io.open(args[1], "rb"))
	local first = f:read("*l")
	method, path = first:match("^(%S+) (%S+)$")
	headers = {}
	for line in f:lines() do
		if line == "" then break end
		local k, v = line:match("^([^:]+):%s*(.*)$")
		headers[k] = v
	end
	body = f:read("*a")
	f:close()
	if body == "" then body = nil end
	local r = assert(io.open("/dev/urandom", "rb"))
	local bytes = r:read(6)
	r:close()
	tag = (args[2] or "run") .. "-" .. bytes:gsub(".", function(c)
		return string.format("%02x", c:byte())
	end) .. "-" .. id
	varies = (body or ""):find("{n}", 1, true) or path:find("{n}", 1, true)
	for _, v in pairs(headers) do
		if v:find("{n}", 1, true) then varies = true end
	end
	if not varies then
		-- Into wrk's own table, which holds the Host header wrk.format needs.
		wrk.method, wrk.path, wrk.body = method, path, body
		for k, v in pairs(headers) do wrk.headers[k] = v end
	end
end

local function fill(s, n)
	return s and (s:gsub("{n}", n)) or nil
end

function request()
	if not varies then return wrk.request() end
	counter = counter + 1
	local n, h = tag .. "-" .. counter, {}
	for k, v in pairs(headers) do h[k] = fill(v, n) end
	return wrk.format(method, fill(path, n), h, fill(body, n))
end
