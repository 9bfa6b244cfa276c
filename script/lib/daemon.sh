# shellcheck shell=bash
# Shared by script/lib/nginx.sh and script/lib/apache.sh (sourced, bash): the pieces of
# running a daemonised server from a run directory that do not depend on which server.

# Escapes a string for the replacement side of a sed s||| command.
pb_sed_escape() {
	printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
pb_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pb_alive PID: true while PID runs. A daemon that exits is reparented to PID 1, which may
# reap it seconds later (a VM's init, a container's): until then kill -0 still succeeds on
# the zombie, and every wait for an exit would last as long as that reaper's period.
pb_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 0
	# "pid (comm) S ...": the state follows the last ")" (comm may hold one).
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pb_running_pid PIDFILE COMM_REGEX: prints the pid in PIDFILE when that process is alive
# and its command name matches (a stale pid file may name some other process by now).
pb_running_pid() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && pb_alive "$pid" || return 1
	grep -Eq "$2" "/proc/$pid/comm" 2>/dev/null || return 1
	echo "$pid"
}

# pb_wait_gone PID TENTHS: true once PID has exited, false if it still runs after TENTHS
# tenths of a second.
pb_wait_gone() {
	local pid=$1 i
	for ((i = 0; i < $2; i++)); do
		pb_alive "$pid" || return 0
		sleep 0.1
	done
	! pb_alive "$pid"
}

# pb_stop_pid LABEL PID: TERM, up to 10 s to exit, then KILL its whole process group (a
# daemonised server is a session leader whose group holds its workers).
pb_stop_pid() {
	local label=$1 pid=$2
	kill -TERM "$pid" 2>/dev/null
	pb_wait_gone "$pid" 100 && return 0
	echo "$label (pid $pid) ignored TERM for 10s; killing it" >&2
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
	sleep 0.2
}
