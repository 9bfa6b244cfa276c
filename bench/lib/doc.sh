# shellcheck shell=bash
# bench/lib/doc.sh: bench/run's sections of docs/BENCHMARKS.md (sourced). Each section sits
# between its own markers and is rewritten whole; the rest of the page is written by hand.
# Needs: top, res, rounds, duration, warmup, threads, workers, started, rev, load_before,
# load_after, args; med, others_max from measure.sh.

doc=$top/docs/BENCHMARKS.md

# Wraps one paragraph or list item at 92 columns, continuation lines indented as in a list.
wrap() {
	fmt -w 90 | sed '1!s/^/  /'
}

# What every section says about the run: when, which commit, the command, the machine,
# the load from anything else.
run_facts() {
	local cell=$1 mem model keepalive site=$top/etc/nginx/paybridge.conf
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	keepalive=$(sed -n '/^upstream paybridge {/,/^}/p' "$site" |
	    awk '$1 == "keepalive" { sub(/;/, "", $2); print $2 }')
	echo "Measured $started at commit $rev with"
	echo "\`bench/run${args[*]:+ ${args[*]}}\`."
	echo
	echo "* Machine: $(nproc) CPUs ($model), $mem of memory, $(uname -sr)." \
	    "wrk, nginx, MariaDB and every application process share these CPUs: the figures" \
	    "are for comparing the targets with each other, not capacity figures for a server." | wrap
	echo "* wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'): $threads threads," \
	    "${duration} s per target per round, $rounds rounds interleaved (${warmup} s warm-up" \
	    "per target first); $(nginx -v 2>&1 | sed 's/.*: //'), \`worker_processes" \
	    "$PB_NGINX_WORKERS\`, upstream \`keepalive $keepalive\` (etc/nginx/paybridge.conf;" \
	    "for the bare responder and php-fpm, pre-forked without parking, \`keepalive" \
	    "$(( workers / 2 > 0 ? workers / 2 : 1 ))\`: bench/lib/stack.sh says why)," \
	    "access log on, nchan not loaded; $(mariadbd --version 2>/dev/null |
	    awk '{ print $3 }' | sed 's/-.*//') MariaDB (script/lib/mariadb.sh:" \
	    "\`innodb_flush_log_at_trx_commit = 2\`, 64 MiB buffer pool)." | wrap
	echo "* paybridge: \`workers = $workers\` (plus its jobs worker), \`max_requests\` at its" \
	    "default of 10000 (workers are recycled during the rounds, as in production)." | wrap
	echo "* Load on the machine from anything else: load average $load_before before the run," \
	    "$load_after after (the harness itself keeps about 2 busy); CPUs kept busy by other" \
	    "processes and interrupts during a round of this table: at most $(others_max "$cell")." | wrap
}

# describe TARGET: the table's name for a target.
describe() {
	case "$1" in
	nginx-return) echo "nginx \`return 200\` (no FastCGI)" ;;
	bare-fcgi) echo "bare libfcgi responder" ;;
	paybridge) echo "paybridge (\`log_level = warn\`)" ;;
	healthz) echo "GET /v1/healthz, the same paybridge" ;;
	0ms) echo "emulator as it is" ;;
	50ms) echo "emulator + 50 ms a call" ;;
	stripe-up) echo "emulator answering" ;;
	stripe-down) echo "emulator answering 503" ;;
	paybridge-info) echo "paybridge, \`log_level = info\` (default)" ;;
	express) echo "Express peer (Node $(node -v 2>/dev/null), cluster)" ;;
	php-fpm) echo "php-fpm peer ($(php -r 'echo PHP_VERSION;' 2>/dev/null), pm static)" ;;
	*) echo "$1" ;;
	esac
}

# table CELL CONNS_LIST TARGET...: the medians, one row per connection count and target.
table() {
	local cell=$1 conns t c
	conns=$2
	shift 2
	echo "| target (median of $rounds) | connections | requests/s | p50 latency | p99 latency" \
	    "| app CPU / request | nginx CPU / request | MariaDB CPU / request | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for c in $conns; do
		for t in "$@"; do
			printf '| %s | %s | %s | %s ms | %s ms | %s µs | %s µs | %s µs | %s |\n' \
			    "$(describe "$t")" "$c" "$(med "$cell" "$c" "$t" 5 %.0f)" \
			    "$(med "$cell" "$c" "$t" 6 %.2f)" "$(med "$cell" "$c" "$t" 7 %.2f)" \
			    "$(med "$cell" "$c" "$t" 10 %.1f)" "$(med "$cell" "$c" "$t" 11 %.1f)" \
			    "$(med "$cell" "$c" "$t" 12 %.1f)" "$(med "$cell" "$c" "$t" 8 %d)"
		done
	done
}

# write_section NAME FILE: FILE's text between NAME's markers in docs/BENCHMARKS.md
# (appended, markers and all, when the page has none yet).
write_section() {
	local name=$1 f=$2 begin end
	begin="<!-- bench/run $name: begin (generated; rerun bench/run to update) -->"
	end="<!-- bench/run $name: end -->"
	{ echo "$begin"; cat "$f"; echo "$end"; } >"$f.marked"
	if grep -qF -- "$begin" "$doc"; then
		awk -v b="$begin" -v e="$end" -v f="$f.marked" '
			$0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
			$0 == e && skip { skip = 0; next }
			!skip { print }' "$doc" >"$doc.tmp"
	else
		{ cat "$doc"; echo; cat "$f.marked"; } >"$doc.tmp"
	fi
	mv "$doc.tmp" "$doc"
	say "wrote the $name section of docs/BENCHMARKS.md"
}
