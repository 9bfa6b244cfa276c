#!/usr/bin/env bash
# The web servers' own errors, through nginx and Apache as deployed (etc/nginx, etc/apache):
# each error that nginx or Apache produces itself must come back in paybridge's JSON
# envelope with the status, Content-Type: application/json, an X-Request-Id and, for 429
# and 503, Retry-After; paybridge's own errors must pass through unchanged; and both
# servers must pass X-Request-Start (and X-Request-Id) of their own, never the client's.
#
#   tests/integration/run-web-errors.sh BUILDDIR
#
# It starts the usual stack (tests/integration/stack.sh), then restarts its nginx and
# Apache with a 1 s read timeout (so GET /v1/test/sleep?ms=2500 gets the web server's 504
# before paybridge's request_timeout of 10 s) and a login limit of 1 a second, burst 1.
# A second nginx and Apache run in front of a fake FastCGI backend (webcheck.py
# fake-fcgi) that reports the parameters it receives and answers a 503 of its own.
# Malformed requests are sent raw (webcheck.py send). Ends with "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:?BUILDDIR}" && pwd -P)
# Short: MariaDB's socket path must fit in 107 bytes.
run=$(mktemp -d /tmp/pbweb.XXXXXX)
# The web servers drop to www-data, which must reach the sockets and pages in here.
chmod 0755 "$run"
passed=0 failed=0 fake=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	[ -n "$fake" ] && kill "$fake" 2>/dev/null
	bash "$top/script/lib/nginx.sh" stop "$run/fake/nginx" >/dev/null 2>&1
	bash "$top/script/lib/apache.sh" stop "$run/fake/apache" >/dev/null 2>&1
	"$top/tests/integration/stack.sh" down "$run" || true
	if [ "$failed" -ne 0 ]; then
		echo "run-web-errors.sh: logs kept in $run" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

webcheck() { /usr/bin/python3 "$top/tests/integration/webcheck.py" "$@"; }
ok() { passed=$((passed + 1)); echo "ok      $1"; }
bad() { failed=$((failed + 1)); echo "FAILED  $1"; }

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# request METHOD TARGET [HEADER_LINES [BODY]]: a raw HTTP/1.1 request on stdout;
# HEADER_LINES each end in CRLF.
request() {
	printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n%s' \
		"$1" "$2" "${3:-}" "${4:-}"
}

# send PORT [SOURCE]: sends stdin raw, prints the name of the file holding the reply.
send() {
	local reply
	reply=$(mktemp "$run/reply.XXXXXX")
	webcheck send "$@" >"$reply" || echo "send to port $1 failed" >&2
	echo "$reply"
}

# expect NAME REPLY_FILE webcheck.py-CHECK ARGS...: counts the check.
expect() {
	local name=$1 reply=$2 kind=$3 msg
	shift 3
	if msg=$(webcheck "$kind" "$reply" "$@"); then
		ok "$name"
	else
		bad "$name"
		echo "$msg"
	fi
}

"$top/tests/integration/stack.sh" up "$build" "$run" || { bad "stack up"; echo "$passed passed, $failed failed"; exit 1; }
# shellcheck disable=SC1091
. "$run/env"
PB_AUTH_RATE=1 PB_AUTH_BURST=1 PB_NGINX_READ_TIMEOUT=1 \
	bash "$top/script/lib/nginx.sh" start "$PB_RUN/nginx" "$PB_NGINX_PORT" "$PB_RUN/pb.sock" \
	"$top/www" >/dev/null || { bad "nginx restart"; echo "$passed passed, $failed failed"; exit 1; }
PB_AUTH_RATE=1 PB_AUTH_BURST=1 PB_APACHE_TIMEOUT=1 \
	bash "$top/script/lib/apache.sh" start "$PB_RUN/apache" "$PB_APACHE_PORT" "$PB_RUN/pb.sock" \
	"$top/www" >/dev/null || { bad "apache restart"; echo "$passed passed, $failed failed"; exit 1; }

big_uri=/v1/$(head -c 102400 /dev/zero | tr '\0' a)
big_header="X-Big: $(head -c 65536 /dev/zero | tr '\0' a)"$'\r\n'
for server in nginx apache; do
	if [ "$server" = nginx ]; then port=$PB_NGINX_PORT; else port=$PB_APACHE_PORT; fi

	r=$(request GET '/v1/he llo' | send "$port")
	expect "$server: 400 for a space in the request line" "$r" error 400 bad_request
	r=$(request GET /v1/healthz $'Foo Bar: y\r\n' | send "$port")
	expect "$server: 400 for a space in a header name" "$r" error 400 bad_request
	r=$(request GET /v1/healthz "$big_header" | send "$port")
	if [ "$server" = nginx ]; then
		# nginx's internal 494, mapped to 431 by the site config.
		expect "$server: 431 for a 64 KiB header" "$r" error 431 request_header_too_large
	else
		expect "$server: 400 for a 64 KiB header" "$r" error 400 bad_request
	fi
	r=$(request GET "$big_uri" | send "$port")
	expect "$server: 414 for a 100 KB URI" "$r" error 414 uri_too_long
	# Refused on Content-Length, before the body; a little of it is sent all the same.
	r=$(request POST /v1/test/echo $'Content-Type: application/json\r\nContent-Length: 1048577\r\n' \
		'{"x":"aaaaaaaaaaaaaaaa' | send "$port")
	expect "$server: 413 for a body over 1 MiB" "$r" error 413 payload_too_large

	# /metrics is for local addresses: nginx allows 127.0.0.1 and ::1 only. Apache's
	# "Require local" admits all of 127.0.0.0/8: its 403 is tested below.
	if [ "$server" = nginx ]; then
		r=$(request GET /metrics | send "$port" 127.0.0.2)
		expect "$server: 403 for /metrics from 127.0.0.2" "$r" error 403 forbidden
	fi

	# The login limit (1 a second, burst 1 here): the third of quick POSTs is refused.
	# Apache has it only with mod_security2, which apache.sh loads when it is installed.
	got=
	if [ "$server" = apache ] &&
		[ ! -f "${PB_APACHE_MODULES:-/usr/lib/apache2/modules}/mod_security2.so" ]; then
		echo "skip    $server: 429 for quick logins (mod_security2 is not installed)"
	else
		for _ in 1 2 3 4 5 6; do
			r=$(request POST /v1/auth/login \
				$'Content-Type: application/json\r\nContent-Length: 2\r\n' '{}' | send "$port")
			if head -n 1 "$r" | grep -q '^HTTP/1.1 429 '; then
				got=$r
				break
			fi
		done
		if [ -n "$got" ]; then
			expect "$server: 429 for quick logins" "$got" error 429 too_many_requests \
				--retry-after
		else
			bad "$server: 429 for quick logins: six POSTs, none refused"
		fi
	fi

	# The web server's read timeout (1 s) ends the wait before paybridge answers.
	r=$(request GET '/v1/test/sleep?ms=2500' | send "$port")
	expect "$server: 504 when paybridge is slow" "$r" error 504 gateway_timeout

	# paybridge's own error passes through: its Content-Type, its timestamp.
	r=$(request GET /v1/no-such-thing $'X-Request-Id: forged\r\n' | send "$port")
	expect "$server: paybridge's 404 passes through" "$r" error 404 not_found --server-body
	if grep -qi '^Content-Type: application/json; charset=utf-8' "$r"; then
		ok "$server: paybridge's 404 keeps its Content-Type"
	else
		bad "$server: paybridge's 404 keeps its Content-Type"
	fi
done

# paybridge down: its socket is gone. nginx says 502, Apache (mod_proxy_fcgi) 503.
if PB_RUN=$run "$PB_TEST_CTL" paybridge-stop; then
	r=$(request GET /v1/healthz | send "$PB_NGINX_PORT")
	expect "nginx: 502 when paybridge is down" "$r" error 502 bad_gateway
	r=$(request GET /v1/healthz | send "$PB_APACHE_PORT")
	expect "apache: 503 when paybridge is down" "$r" error 503 service_unavailable --retry-after
	# Waits (bounded) until paybridge answers through nginx again.
	PB_RUN=$run "$PB_TEST_CTL" paybridge-start >/dev/null || bad "paybridge-start"
else
	bad "paybridge-stop"
fi

# A fake backend behind a second nginx and Apache: what the web servers pass to it, and
# whether its own 503 reaches the client unchanged.
mkdir -p "$run/fake/www" && chmod 0755 "$run/fake" "$run/fake/www"
echo '<p>locked</p>' >"$run/fake/www/locked.html"
chmod 0000 "$run/fake/www/locked.html"
/usr/bin/python3 "$top/tests/integration/webcheck.py" fake-fcgi "$run/fake/pb.sock" \
	2>"$run/fake/fcgi.log" &
fake=$!
for _ in $(seq 1 100); do
	[ -S "$run/fake/pb.sock" ] && break
	sleep 0.1
done
fake_nginx=$(free_port)
fake_apache=$(free_port)
webcheck fake-503-body >"$run/fake/503.json"
if [ -S "$run/fake/pb.sock" ] &&
	bash "$top/script/lib/nginx.sh" start "$run/fake/nginx" "$fake_nginx" "$run/fake/pb.sock" \
		"$run/fake/www" >/dev/null &&
	bash "$top/script/lib/apache.sh" start "$run/fake/apache" "$fake_apache" "$run/fake/pb.sock" \
		"$run/fake/www" >/dev/null; then
	forged=$'X-Request-Start: t=1\r\nX-Request-Id: forged-id-0123\r\n'
	r=$(request GET /v1/fake/params "$forged" | send "$fake_nginx")
	expect "nginx: its own X-Request-Start (t=seconds.milliseconds) and id, not the client's" \
		"$r" params '^t=[0-9]{10}\.[0-9]{3}$' forged-id-0123
	r=$(request GET /v1/fake/params "$forged" | send "$fake_apache")
	expect "apache: its own X-Request-Start (t=microseconds) and id, not the client's" \
		"$r" params '^t=[0-9]{16}$' forged-id-0123
	for server in nginx apache; do
		if [ "$server" = nginx ]; then port=$fake_nginx; else port=$fake_apache; fi
		r=$(request GET /v1/fake/503 | send "$port")
		expect "$server: the backend's 503 passes through byte for byte" "$r" exact 503 \
			"$run/fake/503.json" 'Retry-After:7' 'Content-Type:application/json; charset=utf-8'
		expect "$server: the backend's 503 keeps one X-Request-Id" "$r" error 503 overloaded \
			--retry-after --server-body
	done
	# A page the server may not read.
	r=$(request GET /locked.html | send "$fake_apache")
	expect "apache: 403 for an unreadable page" "$r" error 403 forbidden
else
	bad "the fake backend and its web servers did not start"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
