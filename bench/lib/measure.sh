# shellcheck shell=bash
# bench/lib/measure.sh: wrk runs and what they cost, for bench/run (sourced).
#
# A target is a key into the associative arrays the caller fills: url[KEY] (what wrk asks
# for), wrk_script[KEY] and wrk_args[KEY] (a Lua script and its arguments, optional),
# app_root[KEY], nginx_root[KEY] (pids whose process trees' CPU is charged to the
# application and to nginx) and db_root (MariaDB's pid, charged for every target).
# measure_cell runs the targets of one cell in interleaved rounds and appends one line per
# round and target to $res/rounds.txt:
#   cell conns round target rps p50 p99 errors requests app_us ngx_us db_us others queries
# (queries: statements MariaDB received per request, its Questions counter, when a
# function db_questions prints it).
# Needs: rounds, duration, warmup, threads, res, hz; die and say; wrk_timeout (seconds,
# default 2) when set.

# Prints "rps p50_ms p99_ms errors requests" from one wrk --latency output. Request files
# bench/webhook.lua had to start again (duplicates) count as errors.
wrk_parse() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
		if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
		if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
		return v + 0
	}
	$2 == "requests" && $3 == "in" { n = $1 }
	/^Requests\/sec:/ { rps = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/Non-2xx or 3xx responses:/ { err += $NF }
	/^Exhausted request files:/ { err += $NF }
	/Socket errors:/ { for (i = 3; i <= NF; i += 2) { v = $(i + 1); sub(/,/, "", v); err += v } }
	END {
		if (rps == "" || p50 == "" || p99 == "" || n == "") exit 1
		printf "%.0f %.3f %.3f %d %d\n", rps, p50, p99, err, n
	}' "$1"
}

# CPU time, in clock ticks, used so far by process $1 and its descendants (live ones, and
# the ones reaped: a paybridge worker recycled after max_requests still counts).
tree_ticks() {
	[ -n "$1" ] || { echo 0; return; }
	# Processes that exit while cat runs make it fail; what it read is enough.
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '{
		pid = $1
		sub(/^.*\) /, "")	# the command name may hold blanks and parentheses
		ppid[pid] = $2
		t[pid] = $12 + $13 + $14 + $15
	} END {
		for (p in t) {
			for (q = p; q != "" && q != 0 && q != 1; q = ppid[q])
				if (q == root) { s += t[p]; break }
		}
		print s + 0
	}'
}

# Busy clock ticks of the whole machine (all CPUs, interrupts included).
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# run_wrk KEY CONNS SECONDS OUT: wrk against target KEY; its output in OUT, wrk's own CPU
# ticks in OUT.ticks.
run_wrk() {
	local key=$1 conns=$2 secs=$3 out=$4 t=$threads
	[ "$t" -le "$conns" ] || t=$conns
	local -a cmd=(wrk --latency -t"$t" -c"$conns" -d"${secs}s" --timeout "${wrk_timeout:-2}s")
	[ -z "${wrk_script[$key]:-}" ] || cmd+=(-s "${wrk_script[$key]}")
	cmd+=("${url[$key]}")
	# shellcheck disable=SC2206 # the arguments are words without blanks
	[ -z "${wrk_args[$key]:-}" ] || cmd+=(-- ${wrk_args[$key]})
	(
		timeout $((secs + 30)) "${cmd[@]}" || exit
		# The second line of `times` is what this subshell's children (wrk) used; not
		# in a pipe, whose subshell would have no children.
		times >"$out.times"
	) >"$out" 2>&1 || return
	awk -v hz="$hz" 'NR == 2 {
		for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
		printf "%.0f\n", t * hz }' "$out.times" >"$out.ticks"
}

# measure_one CELL CONNS ROUND TARGET: one timed wrk run, its line in $res/rounds.txt.
measure_one() {
	local cell=$1 conns=$2 r=$3 t=$4 key=$1:$4 f a0 a1 n0 n1 d0 d1 m0 m1 s0 s1
	local rps p50 p99 errs n app ngx db others q0 q1 q
	f=$res/$cell-c$conns-round$r-$t.txt
	q0=$(db_questions)
	a0=$(tree_ticks "${app_root[$key]:-}")
	n0=$(tree_ticks "${nginx_root[$key]:-}")
	d0=$(tree_ticks "${db_root:-}")
	m0=$(machine_ticks)
	s0=$(date +%s%N)
	run_wrk "$key" "$conns" "$duration" "$f" || die "wrk failed against $key: $(tail -n 3 "$f")"
	s1=$(date +%s%N)
	m1=$(machine_ticks)
	a1=$(tree_ticks "${app_root[$key]:-}")
	n1=$(tree_ticks "${nginx_root[$key]:-}")
	d1=$(tree_ticks "${db_root:-}")
	q1=$(db_questions)
	read -r rps p50 p99 errs n < <(wrk_parse "$f") || die "cannot read wrk's output in $f"
	read -r app ngx db others < <(awk -v hz="$hz" -v n="$n" -v a=$((a1 - a0)) \
	    -v g=$((n1 - n0)) -v d=$((d1 - d0)) -v m=$((m1 - m0)) -v w="$(cat "$f.ticks")" \
	    -v ns=$((s1 - s0)) 'BEGIN {
		if (n < 1) n = 1
		o = (m - a - g - d - w) / hz / (ns / 1e9)
		printf "%.1f %.1f %.1f %.2f\n", a * 1e6 / hz / n, g * 1e6 / hz / n,
		    d * 1e6 / hz / n, o < 0 ? 0 : o }')
	# The Questions read itself is one statement.
	q=$(awk -v a="$q0" -v b="$q1" -v n="$n" 'BEGIN { printf "%.1f", (b - a - 1) / (n < 1 ? 1 : n) }')
	echo "$cell $conns $r $t $rps $p50 $p99 $errs $n $app $ngx $db $others $q" >>"$res/rounds.txt"
	printf '%-18s %4s %2s %-15s %8s %8s %8s %7s %7s %7s %6s %6s %5s\n' "$cell" "$conns" "$r" \
	    "$t" "$rps" "$p50" "$p99" "$app" "$ngx" "$db" "$others" "$errs" "$q"
}

# measure_cell CELL CONNS TARGET...: a warm-up run per target, then $rounds rounds of all
# targets in turn. When a function before_CELL exists (cell with - as _), it runs before
# each round (warm-up: round 0) with the round and CONNS, for what must be fresh then;
# prep_CELL_TARGET before each run of that target (what differs between targets that
# share a URL, such as a fault in the emulator).
measure_cell() {
	local cell=$1 conns=$2 r t hook=before_${1//-/_}
	shift 2
	declare -F "$hook" >/dev/null || hook=
	[ -z "$hook" ] || "$hook" 0 "$conns"
	for t in "$@"; do
		prep "$cell" "$t"
		run_wrk "$cell:$t" "$conns" "$warmup" "$res/$cell-c$conns-warmup-$t.txt" ||
		    die "wrk failed against $cell:$t: $(tail -n 3 "$res/$cell-c$conns-warmup-$t.txt")"
	done
	for ((r = 1; r <= rounds; r++)); do
		[ -z "$hook" ] || "$hook" "$r" "$conns"
		for t in "$@"; do
			prep "$cell" "$t"
			measure_one "$cell" "$conns" "$r" "$t"
		done
	done
}

prep() {
	local f=prep_${1//-/_}_${2//-/_}
	if declare -F "$f" >/dev/null; then "$f"; fi
}

# The header measure_one's lines go under.
measure_header() {
	printf '%-18s %4s %2s %-15s %8s %8s %8s %7s %7s %7s %6s %6s %5s\n' cell conns r target \
	    'req/s' 'p50 ms' 'p99 ms' 'app us' 'ngx us' 'db us' others errors q/req
}

# Medians of one cell's target over its rounds, each column on its own (an even count
# averages the middle two): med CELL CONNS TARGET COLUMN FORMAT, columns as in rounds.txt
# (5 rps, 6 p50, 7 p99, 8 errors (summed, not a median), 10 app, 11 ngx, 12 db, 13 others,
# 14 queries).
med() {
	awk -v c="$1" -v k="$2" -v t="$3" -v col="$4" '$1 == c && $2 == k && $4 == t { print $col }' \
	    "$res/rounds.txt" | sort -g | awk -v f="$5" -v col="$4" '
		{ v[NR] = $1; s += $1 }
		END {
			if (NR == 0) { print "-"; exit }
			if (col == 8) { printf "%d\n", s; exit }
			printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# m CELL CONNS TARGET COLUMN: a median as the tables print it.
m() {
	case "$4" in
	5) med "$1" "$2" "$3" 5 %.0f ;;
	6 | 7) med "$1" "$2" "$3" "$4" %.2f ;;
	8) med "$1" "$2" "$3" 8 %d ;;
	*) med "$1" "$2" "$3" "$4" %.1f ;;
	esac
}

# The most CPUs other work kept busy in any round of a cell (or of all cells: CELL "").
others_max() {
	awk -v c="$1" '(c == "" || $1 == c) && $13 > m { m = $13 } END { printf "%.2f", m }' \
	    "$res/rounds.txt"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.0f", 100 * a / b }'; }
