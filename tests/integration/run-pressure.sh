#!/usr/bin/env bash
# The pool under pressure (tests/integration/test_pressure.c) on a stack that would starve
# a pool which holds idle kept connections: 4 paybridge workers, nginx with 4 worker
# processes x keepalive 8 (32 cached connections), Apache reusing backend connections,
# and a 1 s queue limit for the shedding test.
#   tests/integration/run-pressure.sh BUILDDIR
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
export PB_NGINX_WORKERS=4 PB_NGINX_KEEPALIVE=8 PB_APACHE_REUSE=on
# The database timeouts are the defaults (read 3 s, connect 2 s): request_timeout must
# stay above them.
export PB_CONF_EXTRA="workers = 4
queue_timeout_ms = 1000
request_timeout = 10
db_read_timeout = 3
db_write_timeout = 3"
exec "$top/tests/integration/run.sh" "${1:?BUILDDIR}" tests/integration/test_pressure
