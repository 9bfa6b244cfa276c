#!/usr/bin/env bash
# A private MariaDB server for the tests and the demo: never the system instance.
#
#   script/lib/mariadb.sh start  DIR   initialise DIR if needed, start, create the paybridge
#                                      database and user, print the settings as export lines
#   script/lib/mariadb.sh stop   DIR   shut down cleanly and wait for the server to exit
#   script/lib/mariadb.sh status DIR   exit 0 and say so when the server answers, else 1
#   script/lib/mariadb.sh env    DIR   print the export lines of a started instance
#
# Sourced (". script/lib/mariadb.sh"), it defines mariadb_start, mariadb_stop,
# mariadb_status and mariadb_env with the same meaning; mariadb_start also exports the
# settings into the calling shell:
#   PAYBRIDGE_DB_SOCKET PAYBRIDGE_DB_USER PAYBRIDGE_DB_PASSWORD PAYBRIDGE_DB_NAME
#   PAYBRIDGE_DB_HOST (empty: use the socket)
#
# DIR holds everything: data/ (the datadir), mysqld.sock, mysqld.pid, error.log, tmp/,
# password (the paybridge user's, made once, mode 0600) and env (the export lines). The
# server listens on the unix socket only (--skip-networking), so instances of several
# checkouts or tests never collide. Works as root (CI) and as an ordinary user: the admin
# account is the invoking system user, authenticated by the unix_socket plugin.

# shellcheck source=daemon.sh
. "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

MARIADB_START_TIMEOUT=${MARIADB_START_TIMEOUT:-30}
MARIADB_DBNAME=paybridge
MARIADB_DBUSER=paybridge

mariadb__err() {
	echo "mariadb.sh: $*" >&2
}

# Resolves DIR to an absolute path (creating it) and sets the mariadb__* path variables.
mariadb__paths() {
	local dir=${1:-} abs
	if [ -z "$dir" ]; then
		mariadb__err "missing DIR"
		return 64
	fi
	case $dir in
	/*) abs=$dir ;;
	*) abs=$PWD/$dir ;;
	esac
	# sun_path holds 108 bytes including the NUL; check before creating anything.
	if [ $((${#abs} + 12)) -gt 107 ]; then
		mariadb__err "socket path $abs/mysqld.sock is $((${#abs} + 12)) bytes;" \
			"unix sockets allow 107: use a shorter DIR"
		return 1
	fi
	mkdir -p "$dir" || return 1
	mariadb__dir=$(cd "$dir" && pwd -P) || return 1
	mariadb__data=$mariadb__dir/data
	mariadb__sock=$mariadb__dir/mysqld.sock
	mariadb__pidf=$mariadb__dir/mysqld.pid
	mariadb__log=$mariadb__dir/error.log
	mariadb__pwf=$mariadb__dir/password
	mariadb__admin=$(id -un)
	if [ ${#mariadb__sock} -gt 107 ]; then
		mariadb__err "socket path $mariadb__sock is ${#mariadb__sock} bytes;" \
			"unix sockets allow 107: use a shorter DIR"
		return 1
	fi
}

mariadb__admin_sql() {
	mariadb --no-defaults --protocol=socket --socket="$mariadb__sock" \
		-u "$mariadb__admin" --batch --skip-column-names -e "$1"
}

mariadb__alive() {
	local pid
	[ -s "$mariadb__pidf" ] || return 1
	pid=$(cat "$mariadb__pidf" 2>/dev/null) || return 1
	[ -n "$pid" ] && pb_alive "$pid" || return 1
	# A stale pid file may name a process that reused the number.
	if [ -r "/proc/$pid/comm" ]; then
		[ "$(cat "/proc/$pid/comm")" = mariadbd ] || return 1
	fi
}

mariadb__answers() {
	mariadb-admin --no-defaults --protocol=socket --socket="$mariadb__sock" \
		-u "$mariadb__admin" --connect-timeout=2 ping >/dev/null 2>&1
}

mariadb__fail_log() {
	mariadb__err "$1; last lines of $mariadb__log:"
	tail -n 25 "$mariadb__log" >&2 2>/dev/null
	return 1
}

mariadb__env_lines() {
	printf 'export PAYBRIDGE_DB_HOST=%s\n' "''"
	printf 'export PAYBRIDGE_DB_SOCKET=%q\n' "$mariadb__sock"
	printf 'export PAYBRIDGE_DB_NAME=%q\n' "$MARIADB_DBNAME"
	printf 'export PAYBRIDGE_DB_USER=%q\n' "$MARIADB_DBUSER"
	printf 'export PAYBRIDGE_DB_PASSWORD=%q\n' "$(cat "$mariadb__pwf")"
}

# Runs in a subshell so that a failure leaves the caller's shell untouched; prints the
# export lines on success.
mariadb__start() (
	mariadb__paths "${1:-}" || exit
	local -a userarg=()
	local pw deadline

	if [ "$(id -u)" -eq 0 ]; then
		userarg=(--user=root)
	fi
	mkdir -p "$mariadb__dir/tmp" || exit 1
	if ! mariadb__alive; then
		if [ ! -d "$mariadb__data/mysql" ]; then
			rm -rf "$mariadb__data"
			if ! mariadb-install-db --no-defaults "${userarg[@]}" \
				--datadir="$mariadb__data" --skip-test-db \
				--auth-root-authentication-method=socket \
				--auth-root-socket-user="$mariadb__admin" \
				>"$mariadb__dir/install.log" 2>&1; then
				mariadb__err "mariadb-install-db failed; last lines of" \
					"$mariadb__dir/install.log:"
				tail -n 25 "$mariadb__dir/install.log" >&2
				exit 1
			fi
		fi
		rm -f "$mariadb__pidf" "$mariadb__sock"
		# setsid: the server must outlive the shell that started it, and not receive
		# the terminal's signals.
		setsid mariadbd --no-defaults "${userarg[@]}" \
			--datadir="$mariadb__data" --socket="$mariadb__sock" \
			--pid-file="$mariadb__pidf" --log-error="$mariadb__log" \
			--tmpdir="$mariadb__dir/tmp" --skip-networking --skip-name-resolve \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
			--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
			--innodb-flush-log-at-trx-commit=2 --skip-log-bin \
			</dev/null >/dev/null 2>&1 &
	fi
	deadline=$((SECONDS + MARIADB_START_TIMEOUT))
	until mariadb__answers; do
		if [ $SECONDS -ge $deadline ]; then
			mariadb__fail_log "server did not answer within ${MARIADB_START_TIMEOUT}s"
			exit 1
		fi
		if [ -s "$mariadb__pidf" ] && ! mariadb__alive; then
			mariadb__fail_log "server exited while starting"
			exit 1
		fi
		sleep 0.1
	done
	if [ ! -s "$mariadb__pwf" ]; then
		pw=$(od -An -tx1 -N18 /dev/urandom | tr -d ' \n') || exit 1
		(umask 077 && printf '%s\n' "$pw" >"$mariadb__pwf") || exit 1
	fi
	pw=$(cat "$mariadb__pwf")
	if ! mariadb__admin_sql "
		CREATE DATABASE IF NOT EXISTS \`$MARIADB_DBNAME\`
			CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER IF NOT EXISTS '$MARIADB_DBUSER'@'localhost' IDENTIFIED BY '$pw';
		ALTER USER '$MARIADB_DBUSER'@'localhost' IDENTIFIED BY '$pw';
		GRANT ALL PRIVILEGES ON \`$MARIADB_DBNAME\`.* TO '$MARIADB_DBUSER'@'localhost';"
	then
		mariadb__err "could not create the $MARIADB_DBNAME database and user"
		exit 1
	fi
	(umask 077 && mariadb__env_lines >"$mariadb__dir/env") || exit 1
	cat "$mariadb__dir/env"
)

mariadb_start() {
	local out
	out=$(mariadb__start "${1:-}") || return
	eval "$out"
}

mariadb_stop() {
	mariadb__paths "${1:-}" || return
	local pid deadline
	if ! mariadb__alive; then
		rm -f "$mariadb__pidf"
		return 0
	fi
	pid=$(cat "$mariadb__pidf")
	if ! mariadb-admin --no-defaults --protocol=socket --socket="$mariadb__sock" \
		-u "$mariadb__admin" shutdown >/dev/null 2>&1; then
		# It no longer answers on its socket: ask it by signal, which is as clean.
		kill -TERM "$pid" 2>/dev/null
	fi
	deadline=$((SECONDS + MARIADB_START_TIMEOUT))
	while pb_alive "$pid"; do
		if [ $SECONDS -ge $deadline ]; then
			mariadb__err "server $pid did not exit within ${MARIADB_START_TIMEOUT}s"
			return 1
		fi
		sleep 0.05
	done
	rm -f "$mariadb__pidf"
	return 0
}

mariadb_status() {
	mariadb__paths "${1:-}" || return
	if mariadb__alive && mariadb__answers; then
		echo "mariadb: running (pid $(cat "$mariadb__pidf"), socket $mariadb__sock)"
		return 0
	fi
	echo "mariadb: not running ($mariadb__dir)"
	return 1
}

mariadb_env() {
	mariadb__paths "${1:-}" || return
	if [ ! -s "$mariadb__dir/env" ]; then
		mariadb__err "no instance was started in $mariadb__dir"
		return 1
	fi
	cat "$mariadb__dir/env"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${1:-}" in
	start) [ $# -eq 2 ] && { mariadb__start "$2"; exit; } ;;
	stop) [ $# -eq 2 ] && { mariadb_stop "$2"; exit; } ;;
	status) [ $# -eq 2 ] && { mariadb_status "$2"; exit; } ;;
	env) [ $# -eq 2 ] && { mariadb_env "$2"; exit; } ;;
	esac
	echo "usage: $0 start|stop|status|env DIR" >&2
	exit 64
fi
