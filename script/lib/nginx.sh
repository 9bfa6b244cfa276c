#!/bin/bash
# Runs nginx on loopback with paybridge's DEPLOYMENT site config (etc/nginx/), so the tests
# and the demo exercise the file operators install. Nothing outside RUNDIR is written: the
# pid file, logs, temp files and the rendered configs all live there, and no system nginx
# instance is touched or needed. Works as root (workers run as www-data when it can reach
# the socket and the pages, as root otherwise) and as an ordinary user (PORT >= 1024).
#
#   script/lib/nginx.sh start RUNDIR PORT SOCKET [WWWDIR]
#   script/lib/nginx.sh stop  RUNDIR
#
# or, sourced: nginx_start RUNDIR PORT SOCKET [WWWDIR]; nginx_stop RUNDIR (both return
# non-zero on failure and never exit the caller's shell).
#
# start renders RUNDIR/paybridge.conf from etc/nginx/paybridge.conf (listen on
# 127.0.0.1:PORT, FastCGI to the unix socket SOCKET, static pages from WWWDIR, default
# RUNDIR/www, logs in RUNDIR), includes etc/nginx/paybridge-nchan.conf when the nchan module
# is installed, starts nginx and waits until the port answers. stop stops it and waits.
# want-nchan succeeds when start would load nchan (the test stack then sets paybridge's
# nchan_publish_url to this nginx).
#
# Environment: NGINX (the binary, default nginx), PB_NGINX_NCHAN (auto, 0 or 1; default
# auto), PB_NGINX_WORKERS (nginx worker processes, default 1; any number is safe, see
# the site config), PB_START_TIMEOUT (seconds, default 10),
# PB_AUTH_RATE and PB_AUTH_BURST (the login/signup limit per client address, requests a
# second and burst; default as deployed, 10 and 20: raise them for tests that sign up
# many users quickly, keep them to test the limit itself), PB_NGINX_KEEPALIVE (the
# upstream's `keepalive`: idle connections to paybridge kept per nginx worker process;
# default as deployed, the site config's value, 4), PB_NGINX_READ_TIMEOUT (seconds nginx
# waits for paybridge's answer, fastcgi_read_timeout; default as deployed, 35: lower it
# below paybridge's request_timeout to make nginx answer 504 itself), PB_NGINX_MORE_SOCKETS
# (further paybridge hosts' sockets, space-separated: servers of the same upstream, as a
# load balancer in front of several hosts has them; script/cluster), PB_NGINX_NCHAN_REDIS
# (a redis:// URL: nchan keeps its channels there, shared with every nginx naming it),
# PB_NGINX_SITE_DIR (where paybridge.conf and paybridge-nchan.conf are read from; default
# etc/nginx, /usr/share/paybridge/nginx to run the packaged files) and PB_NGINX_API_DIR
# (the directory of openapi.yaml for GET /v1/openapi.yaml; default docs/, the package's is
# /usr/share/paybridge/api).

# shellcheck source=daemon.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"
pb_nginx_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pb_nginx_modules=/usr/lib/nginx/modules

# Prints the pid of the nginx this RUNDIR started, when it still runs.
pb_nginx_pid() {
	pb_running_pid "$1/nginx.pid" 'nginx'
}

# True when the nchan module should be loaded.
pb_nginx_want_nchan() {
	case "${PB_NGINX_NCHAN:-auto}" in
	0) return 1 ;;
	1) return 0 ;;
	esac
	[ -f "$pb_nginx_modules/ngx_nchan_module.so" ]
}

# Prints the user nginx's workers run as, when started by root.
pb_nginx_worker_user() {
	local socket=$1 www=$2
	if id www-data >/dev/null 2>&1 &&
	    runuser -u www-data -- test -x "$(dirname "$socket")" -a -r "$www" -a -x "$www"; then
		echo www-data
	else
		echo "nginx.sh: www-data cannot reach $(dirname "$socket") or $www;" \
		    "running nginx workers as root" >&2
		echo root
	fi
}

# Writes RUNDIR/nginx.conf and RUNDIR/paybridge.conf (and the nchan snippet).
nginx_render() {
	local rundir=$1 port=$2 socket=$3 www=$4 nchan_line site
	local rate=${PB_AUTH_RATE:-10} burst=${PB_AUTH_BURST:-20}
	if [[ ! "$rate$burst" =~ ^[0-9]+$ ]] || [ "$rate" = 0 ]; then
		echo "nginx.sh: PB_AUTH_RATE and PB_AUTH_BURST must be whole numbers (rate >= 1)" >&2
		return 2
	fi
	# Unset, these keep the site config's own values.
	local keepalive=${PB_NGINX_KEEPALIVE:-} read_timeout=${PB_NGINX_READ_TIMEOUT:-}
	local number='^([1-9][0-9]*)?$'
	if [[ ! "$keepalive" =~ $number ]] || [[ ! "$read_timeout" =~ $number ]]; then
		echo "nginx.sh: PB_NGINX_KEEPALIVE and PB_NGINX_READ_TIMEOUT must be whole" \
		    "numbers >= 1" >&2
		return 2
	fi
	local e_rundir e_socket e_www site_dir=${PB_NGINX_SITE_DIR:-$pb_nginx_root/etc/nginx}
	local api=${PB_NGINX_API_DIR:-$pb_nginx_root/docs}
	site="$site_dir/paybridge.conf"
	e_rundir=$(pb_sed_escape "$rundir")
	e_socket=$(pb_sed_escape "$socket")
	e_www=$(pb_sed_escape "$www")
	if pb_nginx_want_nchan; then
		sed -e "s|/var/log/nginx/|$e_rundir/|g" \
		    "$site_dir/paybridge-nchan.conf" >"$rundir/paybridge-nchan.conf" ||
		    return 1
		if [ -n "${PB_NGINX_NCHAN_REDIS:-}" ]; then
			if [[ ! "$PB_NGINX_NCHAN_REDIS" =~ ^redis://[A-Za-z0-9.:@/_-]+$ ]]; then
				echo "nginx.sh: PB_NGINX_NCHAN_REDIS must be a redis:// URL" >&2
				return 2
			fi
			# Channels and their buffered message live in Redis, shared by every nginx
			# that names it (docs/DEPLOY.md, "nchan across hosts").
			sed -i -e 's|^\([[:space:]]*\)nchan_subscriber;|&\n\1nchan_redis_pass paybridge_redis;|' \
			    -e 's|^\([[:space:]]*\)nchan_publisher;|&\n\1nchan_redis_pass paybridge_redis;|' \
			    "$rundir/paybridge-nchan.conf" || return 1
			[ "$(grep -c 'nchan_redis_pass paybridge_redis;' "$rundir/paybridge-nchan.conf")" = 2 ] ||
				{ echo "nginx.sh: could not point nchan at Redis" >&2; return 1; }
		fi
		nchan_line="include $e_rundir/paybridge-nchan.conf;"
	else
		nchan_line="# nchan is not installed: real-time status is long-poll only."
	fi
	sed -e "s|^\([[:space:]]*\)listen 80;|\1listen 127.0.0.1:$port;|" \
	    -e '/^[[:space:]]*listen \[::\]:80;/d' \
	    -e "s|/run/paybridge/paybridge\.sock|$e_socket|g" \
	    -e "s|/usr/share/paybridge/www|$e_www|g" \
	    -e "s|/usr/share/paybridge/api/|$(pb_sed_escape "$api")/|g" \
	    -e "s|/var/log/nginx/|$e_rundir/|g" \
	    -e "s|^\([[:space:]]*\)include snippets/paybridge-nchan\.conf;|\1$nchan_line|" \
	    -e "s|zone=paybridge_auth:10m rate=10r/s;|zone=paybridge_auth:10m rate=${rate}r/s;|" \
	    -e "s|zone=paybridge_auth burst=20 nodelay;|zone=paybridge_auth burst=$burst nodelay;|" \
	    -e "${keepalive:+s|^\([[:space:]]*\)keepalive [0-9]*;|\1keepalive $keepalive;|}" \
	    -e "${read_timeout:+s|fastcgi_read_timeout [0-9]*s;|fastcgi_read_timeout ${read_timeout}s;|}" \
	    "$site" >"$rundir/paybridge.conf" || return 1
	local more
	for more in ${PB_NGINX_MORE_SOCKETS:-}; do
		sed -i -e "s|^\([[:space:]]*\)server unix:$e_socket;|&\n\1server unix:$(pb_sed_escape "$more");|" \
		    "$rundir/paybridge.conf" || return 1
		if ! grep -qF -- "server unix:$more;" "$rundir/paybridge.conf"; then
			echo "nginx.sh: could not add the upstream server unix:$more" >&2
			return 1
		fi
	done
	# If the deployment file drifts from the tokens above, fail here rather than run a
	# configuration that is not the one under test.
	local want
	for want in "listen 127.0.0.1:$port;" "server unix:$socket;" "root $www;" \
	    "alias $api/openapi.yaml;" \
	    "$rundir/paybridge.access.log" "rate=${rate}r/s;" "burst=$burst nodelay;" \
	    ${keepalive:+"keepalive $keepalive;"} \
	    ${read_timeout:+"fastcgi_read_timeout ${read_timeout}s;"}; do
		if ! grep -qF -- "$want" "$rundir/paybridge.conf"; then
			echo "nginx.sh: rendering $site did not produce '$want'" >&2
			return 1
		fi
	done
	if grep -qE '^[[:space:]]*include[[:space:]]+snippets/' "$rundir/paybridge.conf" ||
	    grep -qE '^[[:space:]]*listen[[:space:]]+(\[::\]:)?80;' "$rundir/paybridge.conf"; then
		echo "nginx.sh: $site has a token the renderer does not know" >&2
		return 1
	fi

	{
		echo "# Generated by script/lib/nginx.sh from $site; do not edit."
		echo "daemon on;"
		echo "worker_processes ${PB_NGINX_WORKERS:-1};"
		echo "pid \"$rundir/nginx.pid\";"
		echo "error_log \"$rundir/error.log\" notice;"
		if [ "$(id -u)" = 0 ]; then
			echo "user $(pb_nginx_worker_user "$socket" "$www");"
		fi
		if pb_nginx_want_nchan; then
			echo "load_module \"$pb_nginx_modules/ngx_nchan_module.so\";"
		fi
		echo "events { worker_connections 1024; }"
		echo "http {"
		if [ -f /etc/nginx/mime.types ]; then
			echo "	include /etc/nginx/mime.types;"
		fi
		# nchan adds enough variables to overflow the default hash.
		echo "	variables_hash_max_size 2048;"
		echo "	default_type application/octet-stream;"
		echo "	access_log \"$rundir/access.log\";"
		echo "	client_body_temp_path \"$rundir/tmp/client_body\";"
		echo "	fastcgi_temp_path \"$rundir/tmp/fastcgi\";"
		echo "	proxy_temp_path \"$rundir/tmp/proxy\";"
		echo "	uwsgi_temp_path \"$rundir/tmp/uwsgi\";"
		echo "	scgi_temp_path \"$rundir/tmp/scgi\";"
		if pb_nginx_want_nchan && [ -n "${PB_NGINX_NCHAN_REDIS:-}" ]; then
			echo "	upstream paybridge_redis { nchan_redis_server ${PB_NGINX_NCHAN_REDIS}; }"
		fi
		echo "	include \"$rundir/paybridge.conf\";"
		echo "}"
	} >"$rundir/nginx.conf"
}

nginx_start() {
	local rundir=$1 port=$2 socket=$3 www=${4:-}
	local nginx=${NGINX:-nginx} timeout=${PB_START_TIMEOUT:-10} pid i
	if [ -z "$rundir" ] || [ -z "$port" ] || [ -z "$socket" ]; then
		echo "usage: nginx.sh start RUNDIR PORT SOCKET [WWWDIR]" >&2
		return 2
	fi
	local unsafe='[[:space:];"'"'"'{}$]'
	if [[ "$rundir$socket$www" =~ $unsafe ]]; then
		echo "nginx.sh: paths must not contain blanks, quotes, ';', '{', '}' or '\$'" >&2
		return 2
	fi
	case "$port" in
	'' | *[!0-9]*) echo "nginx.sh: bad port '$port'" >&2; return 2 ;;
	esac
	if ! command -v "$nginx" >/dev/null; then
		echo "nginx.sh: $nginx not found (apt-get install nginx)" >&2
		return 1
	fi
	mkdir -p "$rundir/tmp" || return 1
	rundir=$(cd "$rundir" && pwd) || return 1
	case "$socket" in
	/*) ;;
	*) socket="$(pwd)/$socket" ;;
	esac
	if [ -z "$www" ]; then
		www="$rundir/www"
		mkdir -p "$www" || return 1
	fi
	www=$(cd "$www" && pwd) || return 1

	# A server left behind by an interrupted run in the same RUNDIR is ours to replace.
	if pid=$(pb_nginx_pid "$rundir"); then
		nginx_stop "$rundir" || return 1
	fi
	if pb_port_open "$port"; then
		echo "nginx.sh: 127.0.0.1:$port is already in use" >&2
		return 1
	fi
	nginx_render "$rundir" "$port" "$socket" "$www" || return 1
	: >"$rundir/error.log"
	if ! "$nginx" -q -p "$rundir/" -c "$rundir/nginx.conf" -e "$rundir/error.log"; then
		echo "nginx.sh: nginx failed to start; last lines of $rundir/error.log:" >&2
		tail -n 20 "$rundir/error.log" >&2
		return 1
	fi
	for ((i = 0; i < timeout * 10; i++)); do
		if pb_port_open "$port"; then
			return 0
		fi
		sleep 0.1
	done
	echo "nginx.sh: nginx did not answer on 127.0.0.1:$port within ${timeout}s;" \
	    "last lines of $rundir/error.log:" >&2
	tail -n 20 "$rundir/error.log" >&2
	nginx_stop "$rundir" >/dev/null 2>&1
	return 1
}

nginx_stop() {
	local rundir=$1 pid
	if [ -z "$rundir" ]; then
		echo "usage: nginx.sh stop RUNDIR" >&2
		return 2
	fi
	if ! pid=$(pb_nginx_pid "$rundir"); then
		rm -f "$rundir/nginx.pid"
		return 0
	fi
	# TERM is nginx's fast shutdown: a graceful QUIT would wait for every open
	# Server-Sent Events subscriber.
	pb_stop_pid "nginx.sh: nginx" "$pid"
	rm -f "$rundir/nginx.pid"
	return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case "$cmd" in
	start) nginx_start "$@" ;;
	stop) nginx_stop "$@" ;;
	want-nchan) pb_nginx_want_nchan ;;
	*)
		echo "usage: $0 start|stop RUNDIR PORT SOCKET [WWWDIR] | want-nchan" >&2
		exit 2 ;;
	esac
fi
