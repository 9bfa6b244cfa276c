# shellcheck shell=bash
# bench/lib/stack.sh: starting and stopping what bench/run measures (sourced). Everything
# lives under $run, on unix sockets and 127.0.0.1 only; stack_stop (the EXIT trap) stops
# all of it. Needs: top, run, build, workers, die, say; script/lib/mariadb.sh and
# script/lib/nginx.sh sourced.

declare -A pb_pid=()
bare_pid= emulator_pid= express_pid= php_pid=
nginx_dirs=()
mariadb_started=0
whsec=whsec_bench_secret_for_the_local_stack
emulator_port=

stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "pid $pid ignored TERM for 30s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

stack_stop() {
	local rc=$? d t
	trap - EXIT INT TERM
	rm -f "$run"/requests/wh-*
	for d in "${nginx_dirs[@]}"; do
		nginx_stop "$d" >/dev/null 2>&1 || true
	done
	for t in "${!pb_pid[@]}"; do
		stop_pid "${pb_pid[$t]}"
	done
	stop_pid "$bare_pid"
	stop_pid "$express_pid"
	stop_pid "$php_pid"
	stop_pid "$emulator_pid"
	if [ "$mariadb_started" = 1 ]; then
		mariadb_stop "$run/mariadb" >/dev/null 2>&1 || true
	fi
	exit "$rc"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_busy() { ! port_free "$1"; }

# wait_for WHAT TENTHS CMD...: polls CMD until it succeeds, or dies after TENTHS.
wait_for() {
	local what=$1 n=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	die "$what${last_answer:+ (last answer: $last_answer)}"
}

stack_build() {
	mkdir -p "$run/results"
	if [ ! -f "$build/Makefile" ]; then
		[ -x "$top/configure" ] || autoreconf -fi >/dev/null
		say "configuring $build"
		mkdir -p "$build"
		(cd "$build" && "$top/configure" -q) || die "configure failed"
	fi
	say "building in $build"
	if ! make -C "$build" -j2 paybridge paybridgectl bench/baseline/bare_responder \
	    >"$run/build.log" 2>&1; then
		tail -n 30 "$run/build.log" >&2
		die "build failed (log: $run/build.log)"
	fi
}

# The private MariaDB, made afresh (every run starts from the same empty tables), migrated;
# sql runs statements on it as paybridge's user.
stack_mariadb() {
	say "starting MariaDB ($run/mariadb, new)"
	mariadb_stop "$run/mariadb" >/dev/null 2>&1 || true
	rm -rf "$run/mariadb"
	mariadb_started=1
	mariadb_start "$run/mariadb" >/dev/null || die "MariaDB did not start"
	db_root=$(cat "$run/mariadb/mysqld.pid")
	cat >"$run/ctl.conf" <<CONF
db_socket = $PAYBRIDGE_DB_SOCKET
db_name = $PAYBRIDGE_DB_NAME
db_user = $PAYBRIDGE_DB_USER
CONF
	say "migrating the database"
	"$build/paybridgectl" -c "$run/ctl.conf" migrate up >"$run/migrate.log" 2>&1 ||
	    { cat "$run/migrate.log" >&2; die "paybridgectl migrate up failed"; }
}

sql() {
	MYSQL_PWD=$PAYBRIDGE_DB_PASSWORD mariadb --no-defaults --protocol=socket \
	    --socket="$PAYBRIDGE_DB_SOCKET" -u "$PAYBRIDGE_DB_USER" --batch --skip-column-names \
	    "$PAYBRIDGE_DB_NAME" -e "$1"
}

# The children of PID, one a line.
children() {
	cat "/proc/$1/task/"*/children 2>/dev/null | tr ' ' '\n' | grep . || true
}

# MariaDB's count of statements received so far (every client's).
db_questions() {
	sql "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{ print $2 }'
}

# The Stripe emulator, quiet, on a free port (for the scenarios that call Stripe).
stack_emulator() {
	say "starting the Stripe emulator"
	rm -f "$run/emulator.port"
	/usr/bin/python3 "$top/tests/stripe-emulator/emulator.py" --host 127.0.0.1 --port 0 \
	    --port-file "$run/emulator.port" --quiet >"$run/emulator.log" 2>&1 &
	emulator_pid=$!
	wait_for "the emulator did not start ($run/emulator.log)" 100 test -s "$run/emulator.port"
	emulator_port=$(cat "$run/emulator.port")
}

# emulator_control METHOD PATH [JSON]: one call to the emulator's control API.
emulator_control() {
	curl -fsS -X "$1" "http://127.0.0.1:$emulator_port/_emulator$2" \
	    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} >/dev/null
}

# start_paybridge NAME LOG_LEVEL [CONF_LINES [WRAPPER]]: paybridge with its own socket and
# config in $run/NAME, the webhook secret, Stripe (the emulator) when it runs, CONF_LINES
# appended; run under WRAPPER (words: valgrind and its options) when given.
start_paybridge() {
	local name=$1 level=$2 extra=${3:-} wrapper=${4:-} dir=$run/$1 tenths=100
	mkdir -p "$dir"
	rm -f "$dir/pb.sock"
	(umask 077 && cat >"$dir/paybridge.conf") <<CONF
# Written by bench/run.
listen = unix:$dir/pb.sock
listen_mode = 0666
workers = $workers
log_level = $level
db_socket = $PAYBRIDGE_DB_SOCKET
db_name = $PAYBRIDGE_DB_NAME
db_user = $PAYBRIDGE_DB_USER
db_password = $PAYBRIDGE_DB_PASSWORD
stripe_webhook_secrets = $whsec
jwt_secret = bench-jwt-secret-of-at-least-32-bytes-for-the-local-stack
CONF
	if [ -n "$emulator_port" ]; then
		cat >>"$dir/paybridge.conf" <<CONF
stripe_api_base = http://127.0.0.1:$emulator_port
stripe_secret_key = sk_test_paybridge_bench
CONF
	fi
	[ -z "$extra" ] || printf '%s\n' "$extra" >>"$dir/paybridge.conf"
	"$build/paybridge" -n -c "$dir/paybridge.conf" >"$dir/check.log" 2>&1 ||
	    { cat "$dir/check.log" >&2; die "paybridge -n rejected $dir/paybridge.conf"; }
	pb_start_ns[$name]=$(date +%s%N)
	# shellcheck disable=SC2086 # the wrapper is words
	$wrapper "$build/paybridge" -f -c "$dir/paybridge.conf" >"$dir/paybridge.log" 2>&1 &
	pb_pid[$name]=$!
	[ -z "$wrapper" ] || tenths=1200
	wait_for "paybridge ($name) did not open $dir/pb.sock" "$tenths" test -S "$dir/pb.sock"
}
declare -A pb_start_ns=()

# start_nginx NAME PORT SOCKET: nginx with the deployment config in $run/nginx-NAME, for
# paybridge's socket SOCKET; the signup limit raised so that signups can be measured.
start_nginx() {
	rm -f "$run/nginx-$1"/*access.log
	nginx_dirs+=("$run/nginx-$1")
	PB_AUTH_RATE=1000000 PB_AUTH_BURST=1000000 nginx_start "$run/nginx-$1" "$2" "$3" ||
	    die "nginx for $1 did not start"
}

start_bare() {
	rm -f "$run/bare.sock"
	"$build/bench/baseline/bare_responder" "$run/bare.sock" "$workers" >"$run/bare.log" 2>&1 &
	bare_pid=$!
	wait_for "the bare responder did not start ($run/bare.log)" 50 test -S "$run/bare.sock"
}

# The peers' tables: what each records of an event.
peer_tables() {
	local t
	for t in peer_events_express peer_events_php; do
		sql "CREATE TABLE IF NOT EXISTS $t (event_id VARCHAR(255) NOT NULL COLLATE utf8mb4_bin,
		    type VARCHAR(100) NOT NULL, received_at DATETIME(6) NOT NULL
		    DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (event_id)) ENGINE=InnoDB" ||
		    die "cannot create $t"
	done
}

# Express under Node's cluster module, one process per core, dependencies from
# package-lock.json (npm ci, once).
start_express() {
	local dir=$top/bench/peers/express
	command -v node >/dev/null || die "node not found (Node 20: apt-get install nodejs npm)"
	if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
		say "npm ci in $dir"
		(cd "$dir" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts) \
		    >"$run/npm.log" 2>&1 || { tail -n 20 "$run/npm.log" >&2; die "npm ci failed"; }
		touch "$dir/node_modules"
	fi
	rm -f "$run/express.sock"
	PEER_SOCKET=$run/express.sock PEER_WEBHOOK_SECRET=$whsec \
	    PEER_DB_SOCKET=$PAYBRIDGE_DB_SOCKET PEER_DB_USER=$PAYBRIDGE_DB_USER \
	    PEER_DB_PASSWORD=$PAYBRIDGE_DB_PASSWORD PEER_DB_NAME=$PAYBRIDGE_DB_NAME \
	    PEER_TABLE=peer_events_express NODE_ENV=production \
	    node "$dir/server.js" >"$run/express.log" 2>&1 &
	express_pid=$!
	wait_for "the Express peer did not start ($run/express.log)" 100 test -S "$run/express.sock"
}

# Debian's php-fpm, pm = static with as many children as paybridge's workers, opcache on.
php_fpm_bin() {
	local b
	for b in /usr/sbin/php-fpm*; do
		[ -x "$b" ] && { echo "$b"; return; }
	done
	return 1
}

start_php() {
	local dir=$run/php-fpm bin asroot=() user=
	if ! bin=$(php_fpm_bin) || ! php -m 2>/dev/null | grep -qx pdo_mysql; then
		[ "$(id -u)" = 0 ] || die "php-fpm and php-mysql are missing (apt-get install php-fpm php-mysql)"
		say "installing php-fpm and php-mysql"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q php-fpm php-mysql \
		    >"$run/apt.log" 2>&1 || { tail -n 20 "$run/apt.log" >&2; die "apt-get failed"; }
		bin=$(php_fpm_bin) || die "no php-fpm after apt-get install"
	fi
	mkdir -p "$dir"
	rm -f "$dir/php.sock"
	if [ "$(id -u)" = 0 ]; then
		asroot=(-R)
		user=$'user = root\ngroup = root'
	fi
	(umask 077 && cat >"$dir/php-fpm.conf") <<CONF
; Written by bench/run.
[global]
pid = $dir/php-fpm.pid
error_log = $dir/error.log
daemonize = no
[peer]
$user
listen = $dir/php.sock
listen.mode = 0666
listen.backlog = 1024
pm = static
pm.max_children = $workers
pm.max_requests = 0
clear_env = yes
env[PEER_WEBHOOK_SECRET] = $whsec
env[PEER_DB_SOCKET] = $PAYBRIDGE_DB_SOCKET
env[PEER_DB_USER] = $PAYBRIDGE_DB_USER
env[PEER_DB_PASSWORD] = $PAYBRIDGE_DB_PASSWORD
env[PEER_DB_NAME] = $PAYBRIDGE_DB_NAME
env[PEER_TABLE] = peer_events_php
php_admin_flag[opcache.enable] = on
php_admin_flag[opcache.validate_timestamps] = off
php_admin_flag[display_errors] = off
php_admin_flag[log_errors] = on
CONF
	"$bin" "${asroot[@]}" -t -y "$dir/php-fpm.conf" >"$dir/check.log" 2>&1 ||
	    { cat "$dir/check.log" >&2; die "php-fpm rejected $dir/php-fpm.conf"; }
	"$bin" "${asroot[@]}" -F -y "$dir/php-fpm.conf" >"$dir/php-fpm.log" 2>&1 &
	php_pid=$!
	wait_for "php-fpm did not start ($dir/error.log)" 100 test -S "$dir/php.sock"
}

# nginx for the anchors and the peers: the same main context (user, worker_processes,
# events) as paybridge's rendered one, and from the deployment site config the log format,
# the fastcgi_param set, server_tokens and the upstream keepalive settings, so only the
# application differs. Locations: /return (nginx itself, the bare responder's body),
# /v1/healthz (the bare responder), /express/... and /php/... (the peers).
render_anchors() {
	local dir=$1 main=$2 site=$top/etc/nginx/paybridge.conf ka body params
	mkdir -p "$dir/tmp"
	ka=$(sed -n '/^upstream paybridge {/,/^}/p' "$site" | grep -E '^[[:space:]]*keepalive(_timeout)?[[:space:]]')
	[ -n "$ka" ] || die "no keepalive in the upstream of $site"
	params=$(grep -E '^[[:space:]]*fastcgi_param[[:space:]]' "$site")
	[ -n "$params" ] || die "no fastcgi_param lines found in $site"
	# nginx reads \n in a quoted string as a newline; $(...) would drop a trailing one.
	body=$(sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$run/bare.body" |
	    awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')
	if [ -z "$(tail -c 1 "$run/bare.body" | tr -d '\n')" ]; then
		body="$body\\n"
	fi
	# A pre-forked FastCGI server without paybridge's parking (the bare responder,
	# php-fpm) is stalled by idle kept connections as many as its processes: nginx then
	# serves the clients on those and starves the rest (at keepalive 32 and 32
	# connections the bare responder answered a quarter of its requests in under 1 ms and
	# the rest after 0.3 to 1 s). Such a server is deployed with keepalive x
	# worker_processes below its processes, so it gets half its processes here: each
	# target at the configuration it is meant to run with.
	local ka_forked
	ka_forked=$(printf '%s\n' "$ka" |
	    sed -E "s/^([[:space:]]*keepalive)[[:space:]]+[0-9]+;/\1 $(( workers / 2 > 0 ? workers / 2 : 1 ));/")
	upstream() {
		echo "	upstream $1 {"
		echo "		server unix:$2;"
		if [ "${3:-}" = forked ]; then printf '%s\n' "$ka_forked"; else printf '%s\n' "$ka"; fi
		echo "	}"
	}
	{
		echo "# Generated by bench/run; mirrors $main."
		grep -E '^(daemon|worker_processes|user) ' "$main"
		echo "pid \"$dir/nginx.pid\";"
		echo "error_log \"$dir/error.log\" notice;"
		echo "events { worker_connections 1024; }"
		echo "http {"
		echo "	default_type application/octet-stream;"
		echo "	access_log \"$dir/access.log\";"
		for t in client_body fastcgi proxy uwsgi scgi; do
			echo "	${t}_temp_path \"$dir/tmp/$t\";"
		done
		upstream bare "$run/bare.sock" forked
		upstream express "$run/express.sock"
		upstream php "$run/php-fpm/php.sock" forked
		sed -n '/^log_format paybridge/,/;[[:space:]]*$/p' "$site"
		echo "	server {"
		echo "		listen 127.0.0.1:$3;"
		echo "		server_tokens off;"
		echo "		client_max_body_size 1m;"
		echo "		access_log $dir/anchors.access.log paybridge;"
		printf '%s\n' "$params"
		echo "		location = /v1/healthz {"
		echo "			fastcgi_pass bare;"
		echo "			fastcgi_keep_conn on;"
		echo "		}"
		echo "		location = /return {"
		echo "			default_type application/json;"
		echo "			return 200 '$body';"
		echo "		}"
		echo "		location /express/ {"
		echo "			proxy_pass http://express/;"
		echo "			proxy_http_version 1.1;"
		echo "			proxy_set_header Connection \"\";"
		echo "			proxy_set_header Host \$host;"
		echo "		}"
		echo "		location /php/ {"
		echo "			fastcgi_pass php;"
		echo "			fastcgi_keep_conn on;"
		# A location's own fastcgi_param replaces the inherited set: repeat it.
		printf '%s\n' "$params"
		echo "			fastcgi_param SCRIPT_FILENAME $top/bench/peers/php-fpm/webhook.php;"
		echo "		}"
		echo "	}"
		echo "}"
	} >"$dir/nginx.conf"
	grep -q '^log_format paybridge' "$dir/nginx.conf" || die "no log_format in $site"
}

# start_anchors PORT MAIN_CONF: the anchors' nginx (render_anchors) on 127.0.0.1:PORT.
start_anchors() {
	local dir=$run/nginx-anchors
	nginx_dirs+=("$dir")
	nginx_stop "$dir" >/dev/null 2>&1 || true
	"$build/bench/baseline/bare_responder" --body >"$run/bare.body" ||
	    die "bare_responder --body failed"
	render_anchors "$dir" "$2" "$1"
	rm -f "$dir"/*access.log
	nginx -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" ||
	    { tail -n 20 "$dir/error.log" >&2; die "nginx for the anchors did not start"; }
	wait_for "nginx for the anchors does not listen on $1" 50 port_busy "$1"
}

# answers URL STATUS PATTERN [CURL_ARGS...]: true when URL answers STATUS with a body
# matching PATTERN (every target is checked so before it is timed: a target that answers
# errors fast would otherwise win).
answers() {
	local u=$1 want=$2 pat=$3 out
	shift 3
	out=$(curl -sS -w '\n%{http_code}' "$@" "$u" 2>&1) || { last_answer=$out; return 1; }
	last_answer=$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)
	[ "${out##*$'\n'}" = "$want" ] && grep -qE -- "$pat" <<<"$out"
}
