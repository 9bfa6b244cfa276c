#!/usr/bin/env bash
# A private three-node MariaDB Galera cluster on loopback, for script/cluster and the
# cluster tests: never the system instance.
#
#   script/lib/galera.sh up     DIR   start the nodes that are down (bootstrapping the
#                                     cluster when none runs), create the paybridge
#                                     database and user, print the settings as export lines
#   script/lib/galera.sh down   DIR   stop every node cleanly
#   script/lib/galera.sh status DIR   each node's state; exit 0 when all three are Synced
#   script/lib/galera.sh kill   DIR K kill -9 node K (1 to 3)
#   script/lib/galera.sh start  DIR K start node K again; it rejoins (IST, or SST when its
#                                     data is too old or gone)
#
# GALERA_NODES (default 3) and GALERA_WSREP=OFF (one node, no replication, for bench/
# cluster's single-server figures) change the shape.
#
# DIR/nodeK holds node K's data/, mysqld.sock, mysqld.pid, error.log and tmp/. Node K
# listens on 127.0.0.1 at GALERA_PORT_BASE + 10*K + 3 for SQL, + 7 for group
# communication, + 8 for IST and + 9 for SST (rsync), GALERA_PORT_BASE defaulting to 24600;
# DIR/env holds the export lines (GALERA_SQL_PORTS, GALERA_DB_*). Run as root, the nodes
# run as the mysql user: the rsync daemon of a state transfer would otherwise run as
# nobody and be refused the joiner's data directory.
#
# The demo's settings are those docs/DEPLOY.md gives a real cluster: ROW binary log
# format, InnoDB, innodb_autoinc_lock_mode 2, and wsrep_sync_wait left to the sessions
# that need a read to see another node's write.

# shellcheck source=daemon.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

GALERA_NODES=${GALERA_NODES:-3}
# OFF: the same server settings without replication (one node), the single MariaDB a
# benchmark compares the cluster with.
GALERA_WSREP=${GALERA_WSREP:-ON}
GALERA_PORT_BASE=${GALERA_PORT_BASE:-24600}
GALERA_START_TIMEOUT=${GALERA_START_TIMEOUT:-90}
GALERA_PROVIDER=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
GALERA_DBNAME=paybridge
GALERA_DBUSER=paybridge

galera__err() {
	echo "galera.sh: $*" >&2
}

# galera__port K OFFSET
galera__port() {
	echo $((GALERA_PORT_BASE + 10 * $1 + $2))
}

galera__node() {
	echo "$galera__dir/node$1"
}

galera__pid() {
	local pid
	pid=$(cat "$(galera__node "$1")/mysqld.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && pb_alive "$pid" && grep -q '^mariadbd$' "/proc/$pid/comm" 2>/dev/null ||
		return 1
	echo "$pid"
}

galera__sql() {
	local k=$1
	shift
	mariadb --no-defaults --protocol=socket --socket="$(galera__node "$k")/mysqld.sock" \
		-u "$(id -un)" --batch --skip-column-names --connect-timeout=2 -e "$*"
}

# Synced when the node serves; without replication, when it answers at all.
galera__state() {
	if [ "$GALERA_WSREP" != ON ]; then
		galera__sql "$1" "SELECT 'Synced'" 2>/dev/null
		return
	fi
	galera__sql "$1" "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null |
		awk '{ print $2 }'
}

galera__paths() {
	local dir=${1:-}
	if [ -z "$dir" ]; then
		galera__err "missing DIR"
		return 64
	fi
	mkdir -p "$dir" || return 1
	galera__dir=$(cd "$dir" && pwd -P) || return 1
	if [ $((${#galera__dir} + 18)) -gt 107 ]; then
		galera__err "socket path $galera__dir/node1/mysqld.sock is too long for a unix socket"
		return 1
	fi
}

galera__cluster_address() {
	local k addr=
	for ((k = 1; k <= GALERA_NODES; k++)); do
		addr+=${addr:+,}127.0.0.1:$(galera__port "$k" 7)
	done
	echo "gcomm://$addr"
}

# galera__start_node K [--wsrep-new-cluster]
galera__start_node() {
	local k=$1 node
	shift
	node=$(galera__node "$k")
	local -a userarg=()
	mkdir -p "$node/tmp" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		id mysql >/dev/null 2>&1 || { galera__err "the mysql user is missing"; return 1; }
		userarg=(--user=mysql)
		chmod 0755 "$galera__dir"
	fi
	if [ ! -d "$node/data/mysql" ]; then
		rm -rf "$node/data"
		if ! mariadb-install-db --no-defaults "${userarg[@]}" --datadir="$node/data" \
			--skip-test-db --auth-root-authentication-method=socket \
			--auth-root-socket-user="$(id -un)" >"$node/install.log" 2>&1; then
			galera__err "mariadb-install-db failed for node $k; see $node/install.log"
			return 1
		fi
	fi
	[ "$(id -u)" -eq 0 ] && chown -R mysql:mysql "$node"
	rm -f "$node/mysqld.pid" "$node/mysqld.sock"
	local gm ist sst
	gm=$(galera__port "$k" 7)
	ist=$(galera__port "$k" 8)
	sst=$(galera__port "$k" 9)
	local -a wsrep=(--wsrep-on=OFF)
	if [ "$GALERA_WSREP" = ON ]; then
		wsrep=(--wsrep-on=ON --wsrep-provider="$GALERA_PROVIDER" --wsrep-cluster-name=paybridge
			--wsrep-cluster-address="$(galera__cluster_address)"
			--wsrep-node-name="node$k" --wsrep-node-address="127.0.0.1:$gm"
			--wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$gm;ist.recv_addr=127.0.0.1:$ist;gcache.size=128M"
			--wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:$sst")
	fi
	# setsid: the node outlives the shell that started it and ignores the terminal's signals.
	setsid mariadbd --no-defaults "${userarg[@]}" \
		--datadir="$node/data" --socket="$node/mysqld.sock" \
		--pid-file="$node/mysqld.pid" --log-error="$node/error.log" --tmpdir="$node/tmp" \
		--bind-address=127.0.0.1 --port="$(galera__port "$k" 3)" --skip-name-resolve \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
		--innodb-flush-log-at-trx-commit=2 --innodb-autoinc-lock-mode=2 \
		--binlog-format=ROW --default-storage-engine=InnoDB "${wsrep[@]}" \
		"$@" </dev/null >/dev/null 2>&1 &
}

# Waits until node K answers and is Synced.
galera__wait_synced() {
	local k=$1 deadline=$((SECONDS + GALERA_START_TIMEOUT))
	until [ "$(galera__state "$k")" = Synced ]; do
		if [ $SECONDS -ge "$deadline" ]; then
			galera__err "node $k was not Synced within ${GALERA_START_TIMEOUT}s; last lines of" \
				"$(galera__node "$k")/error.log:"
			tail -n 25 "$(galera__node "$k")/error.log" >&2
			return 1
		fi
		sleep 0.2
	done
}

galera__any_running() {
	local k
	for ((k = 1; k <= GALERA_NODES; k++)); do
		galera__pid "$k" >/dev/null && return 0
	done
	return 1
}

galera__env_lines() {
	local k ports=
	for ((k = 1; k <= GALERA_NODES; k++)); do
		ports+=${ports:+ }$(galera__port "$k" 3)
	done
	printf 'export GALERA_SQL_PORTS=%q\n' "$ports"
	printf 'export GALERA_DIR=%q\n' "$galera__dir"
	printf 'export GALERA_DB_NAME=%q\n' "$GALERA_DBNAME"
	printf 'export GALERA_DB_USER=%q\n' "$GALERA_DBUSER"
	printf 'export GALERA_DB_PASSWORD=%q\n' "$(cat "$galera__dir/password")"
}

galera_up() {
	galera__paths "${1:-}" || return
	local k pw grastate
	if ! galera__any_running; then
		# Nothing runs: node 1 starts a new cluster from its own data. For this private
		# cluster that is always safe; a real one bootstraps from the most advanced node.
		grastate=$(galera__node 1)/data/grastate.dat
		[ -f "$grastate" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$grastate"
		if [ "$GALERA_WSREP" = ON ]; then
			galera__start_node 1 --wsrep-new-cluster || return 1
		else
			galera__start_node 1 || return 1
		fi
		galera__wait_synced 1 || return 1
	fi
	for ((k = 1; k <= GALERA_NODES; k++)); do
		galera__pid "$k" >/dev/null || galera__start_node "$k" || return 1
	done
	for ((k = 1; k <= GALERA_NODES; k++)); do
		galera__wait_synced "$k" || return 1
	done
	if [ ! -s "$galera__dir/password" ]; then
		pw=$(od -An -tx1 -N18 /dev/urandom | tr -d ' \n') || return 1
		(umask 077 && printf '%s\n' "$pw" >"$galera__dir/password") || return 1
	fi
	pw=$(cat "$galera__dir/password")
	# Replicated to every node: users and grants are DDL, which Galera replicates.
	galera__sql 1 "
		CREATE DATABASE IF NOT EXISTS \`$GALERA_DBNAME\`
			CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER IF NOT EXISTS '$GALERA_DBUSER'@'127.0.0.1' IDENTIFIED BY '$pw';
		ALTER USER '$GALERA_DBUSER'@'127.0.0.1' IDENTIFIED BY '$pw';
		GRANT ALL PRIVILEGES ON \`$GALERA_DBNAME\`.* TO '$GALERA_DBUSER'@'127.0.0.1';" ||
		{ galera__err "could not create the database and user"; return 1; }
	(umask 077 && galera__env_lines >"$galera__dir/env") || return 1
	cat "$galera__dir/env"
}

galera_down() {
	galera__paths "${1:-}" || return
	local k pid pids=()
	# The last node to stop is the one a restart bootstraps from: node 1.
	for ((k = GALERA_NODES; k >= 1; k--)); do
		pid=$(galera__pid "$k") || continue
		kill -TERM "$pid" 2>/dev/null
		pids+=("$pid")
		[ "$k" -eq 1 ] && break
		# One at a time, so each later node sees the earlier ones leave.
		pb_wait_gone "$pid" $((GALERA_START_TIMEOUT * 10)) || return 1
	done
	for pid in "${pids[@]}"; do
		pb_wait_gone "$pid" $((GALERA_START_TIMEOUT * 10)) || return 1
	done
}

galera_status() {
	galera__paths "${1:-}" || return
	local k pid state size rc=0
	for ((k = 1; k <= GALERA_NODES; k++)); do
		if pid=$(galera__pid "$k"); then
			state=$(galera__state "$k")
			size=$(galera__sql "$k" "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null |
				awk '{ print $2 }')
			echo "node$k: pid $pid, 127.0.0.1:$(galera__port "$k" 3), ${state:-not answering}, cluster size ${size:-?}"
			[ "$state" = Synced ] || rc=1
		else
			echo "node$k: down"
			rc=1
		fi
	done
	return "$rc"
}

galera_kill() {
	galera__paths "${1:-}" || return
	local k=${2:-} pid
	[[ "$k" =~ ^[1-3]$ ]] || { galera__err "kill: node 1 to 3"; return 64; }
	pid=$(galera__pid "$k") || { galera__err "node $k is not running"; return 1; }
	kill -KILL "$pid"
	pb_wait_gone "$pid" 100
}

galera_start() {
	galera__paths "${1:-}" || return
	local k=${2:-}
	[[ "$k" =~ ^[1-3]$ ]] || { galera__err "start: node 1 to 3"; return 64; }
	galera__pid "$k" >/dev/null && return 0
	galera__any_running || { galera__err "no node runs: use up"; return 1; }
	galera__start_node "$k" && galera__wait_synced "$k"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	up) [ $# -eq 2 ] && { galera_up "$2"; exit; } ;;
	down) [ $# -eq 2 ] && { galera_down "$2"; exit; } ;;
	status) [ $# -eq 2 ] && { galera_status "$2"; exit; } ;;
	kill) [ $# -eq 3 ] && { galera_kill "$2" "$3"; exit; } ;;
	start) [ $# -eq 3 ] && { galera_start "$2" "$3"; exit; } ;;
	esac
	echo "usage: $0 up|down|status DIR | kill|start DIR NODE" >&2
	exit 64
fi
