#!/usr/bin/env bash
# The scale-out suite: a private script/cluster (three Galera nodes, two paybridge hosts,
# nginx, the Stripe emulator) in a temporary directory, tests/cluster/cluster_test.py
# against it, then everything stopped and removed (kept, with its logs, on failure):
#
#   tests/cluster/run.sh BUILDDIR            the short form script/test runs (200 signups)
#   tests/cluster/run.sh BUILDDIR --full     script/test --cluster: 1,000 signups
#
# Needs root or an ordinary user alike (as root the Galera nodes run as mysql); the
# packages are Debian's galera-4, rsync and mariadb-server (script/bootstrap installs them).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
build=$(cd "${1:?usage: tests/cluster/run.sh BUILDDIR [--full]}" && pwd -P)
signups=200
[ "${2:-}" = --full ] && signups=1000

say() { printf 'cluster-test: %s\n' "$*"; }

for need in galera_new_cluster rsync mariadbd nginx redis-server; do
	command -v "$need" >/dev/null ||
		{ echo "cluster-test: $need is missing (script/bootstrap installs it)" >&2; exit 1; }
done

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A base whose 40 ports above it are all free: Redis and the hosts' own nginx (+5 on),
# and the nodes' SQL, group, IST and SST ports (+13 on).
galera_base() {
	local base k
	for base in $(seq 25000 100 32000); do
		for ((k = 0; k < 40; k++)); do
			(exec 3<>"/dev/tcp/127.0.0.1/$((base + k))") 2>/dev/null && continue 2
		done
		echo "$base"
		return 0
	done
	return 1
}

run=$(mktemp -d /tmp/pbcl.XXXXXX)
chmod 0755 "$run"
status=1
export PB_CLUSTER_DIR=$run PB_CLUSTER_BUILD=$build
# Signups come by the hundred from one address: lift nginx's per-client login limit.
export PB_AUTH_RATE=1000 PB_AUTH_BURST=1000
# No retry inside a signup: each failed creation goes to the outbox, whose jobs both
# hosts' jobs workers then claim.
export PB_CLUSTER_CONF_EXTRA="stripe_max_retries = 0
jobs_poll_interval_ms = 100"
PAYBRIDGE_CLUSTER_PORT=$(free_port)
GALERA_PORT_BASE=$(galera_base) || { echo "cluster-test: no free port range" >&2; exit 1; }
export PAYBRIDGE_CLUSTER_PORT GALERA_PORT_BASE
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	"$top/script/cluster" down >/dev/null 2>&1 || true
	if [ -n "${PB_LOG_ARCHIVE:-}" ]; then
		bash "$top/tests/leaks/archive.sh" "$run" "$PB_LOG_ARCHIVE/${run##*/}" || true
	fi
	if [ "$status" -eq 0 ]; then
		rm -rf "$run"
	else
		echo "cluster-test: logs kept in $run" >&2
		tail -n 20 "$run"/a/paybridge.log "$run"/b/paybridge.log >&2 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
"$top/script/cluster" up
say "cluster up in $((SECONDS - t0)) s"
export PB_CLUSTER_URL=http://127.0.0.1:$PAYBRIDGE_CLUSTER_PORT
PB_EMULATOR_URL=http://127.0.0.1:$(cat "$run/emulator.port")
export PB_EMULATOR_URL PB_CLUSTER_SIGNUPS=$signups
export PB_WEBHOOK_SECRET=whsec_cluster_secret_for_the_local_emulator
if /usr/bin/python3 "$top/tests/cluster/cluster_test.py"; then
	status=0
fi
exit "$status"
