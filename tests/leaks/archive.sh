#!/usr/bin/env bash
# Copies the logs of a test stack's directory (paybridge, the emulator, migrations,
# nginx, Apache, MariaDB's error log) into an archive directory, keeping their relative
# paths, before the stack directory is removed: tests/leaks/scan.py reads them after the
# whole of script/test.
#
#   tests/leaks/archive.sh STACKDIR ARCHIVEDIR
#
# Only *.log files, and none under MariaDB's datadir (its own binary files).
set -euo pipefail
src=${1:?usage: archive.sh STACKDIR ARCHIVEDIR}
dest=${2:?usage: archive.sh STACKDIR ARCHIVEDIR}
[ -d "$src" ] || exit 0
mkdir -p "$dest"
cd "$src"
find . -path ./db/data -prune -o -path '*/node*/data' -prune -o -type f -name '*.log' \
	-print0 | while IFS= read -r -d '' f; do
	mkdir -p "$dest/$(dirname "$f")"
	cp -- "$f" "$dest/$f"
done
