#!/usr/bin/env bash
# The command lines themselves, no stack needed: paybridge -n on good and bad
# configurations (exit 78, one line naming where and what), -V, a socket in use by a live
# server, and the systemd units through systemd-analyze.
#   tests/integration/run-cli.sh BUILDDIR
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:?BUILDDIR}" && pwd -P)
pb=$build/paybridge
dir=$(mktemp -d /tmp/pbcli.XXXXXX)
passed=0 failed=0
trap 'kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
server=

ok() { passed=$((passed + 1)); echo "ok      $1"; }
bad() { failed=$((failed + 1)); echo "FAILED  $1"; }

# expect NAME RC PATTERN COMMAND...: COMMAND exits RC and prints one line matching PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -qE "$pattern" <<<"$out" && [ "$(grep -c . <<<"$out")" -eq 1 ]; then
		ok "$name"
	else
		bad "$name (exit $rc, want $want): $out"
	fi
}

env -i PATH="$PATH" "$pb" -V | grep -q "^paybridge [0-9]" && ok "-V prints the version" || bad "-V"
cp "$top/etc/paybridge.conf.example" "$dir/example.conf"
chmod 600 "$dir/example.conf"
expect "the shipped example is valid" 0 "configuration OK" env -i PATH="$PATH" "$pb" -n -c "$dir/example.conf"

printf 'workers = 4\n\n# comment\nworkers = lots\n' >"$dir/bad-int.conf"
expect "bad integer: file, line, key, range" 78 "bad-int.conf:4: workers: must be an integer between 1 and 1024" \
	env -i PATH="$PATH" "$pb" -n -c "$dir/bad-int.conf"
printf 'listen = unix:/tmp/x.sock\nno_such_key = 1\n' >"$dir/unknown.conf"
expect "unknown key" 78 "unknown.conf:2: no_such_key: unknown key" env -i PATH="$PATH" "$pb" -n -c "$dir/unknown.conf"
printf 'jwt_secret = 0123456789abcdef0123456789abcdef\n' >"$dir/secret.conf"
chmod 644 "$dir/secret.conf"
expect "secret in a world-readable file" 78 "secret.conf:1: jwt_secret: secrets may not be kept" \
	env -i PATH="$PATH" "$pb" -n -c "$dir/secret.conf"
chmod 600 "$dir/secret.conf"
expect "secret in a private file" 0 "configuration OK" env -i PATH="$PATH" "$pb" -n -c "$dir/secret.conf"
: >"$dir/empty.conf"
expect "environment override, bad value" 78 "environment PAYBRIDGE_WORKERS: workers: must be an integer" \
	env -i PATH="$PATH" PAYBRIDGE_WORKERS=0 "$pb" -n -c "$dir/empty.conf"
expect "short jwt_secret from the environment" 78 "jwt_secret: must be at least 32 bytes" \
	env -i PATH="$PATH" PAYBRIDGE_JWT_SECRET=short "$pb" -n -c "$dir/empty.conf"
expect "a missing -c file" 78 "no-such.conf: No such file" env -i PATH="$PATH" "$pb" -n -c "$dir/no-such.conf"
expect "a bad listen address" 78 "listen: must be" env -i PATH="$PATH" PAYBRIDGE_LISTEN=nowhere "$pb" -n -c "$dir/empty.conf"

# A second server may not take over a socket a live one is serving.
PAYBRIDGE_LISTEN="unix:$dir/pb.sock" PAYBRIDGE_WORKERS=1 "$pb" -f -c "$dir/empty.conf" >"$dir/first.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do [ -S "$dir/pb.sock" ] && break; sleep 0.1; done
out=$(PAYBRIDGE_LISTEN="unix:$dir/pb.sock" "$pb" -f -c "$dir/empty.conf" 2>&1)
rc=$?
if [ "$rc" -eq 78 ] && grep -q "in use by another server" <<<"$out"; then ok "socket in use"; else bad "socket in use (exit $rc): $out"; fi
kill -TERM "$server"
wait "$server"
rc=$?
[ "$rc" -eq 0 ] && [ ! -e "$dir/pb.sock" ] && ok "SIGTERM: clean exit, socket removed" ||
	bad "SIGTERM (exit $rc, socket $(ls "$dir/pb.sock" 2>&1))"
server=

if "$top/script/verify-units" "$pb"; then ok "systemd units verify"; else bad "systemd units"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
