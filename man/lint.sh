#!/bin/sh
# Lints the man pages with mandoc -Tlint, at every level down to STYLE: any message fails
# the check. The pages are linted together so that their cross-references resolve.
# Run by `make check` when configure found mandoc ($MANDOC may name it); finds the pages
# through $srcdir, or through its own location.
set -eu

top=${srcdir:-$(dirname "$0")/..}
mandoc=${MANDOC:-mandoc}
pages="paybridge.8 paybridgectl.8 paybridge.conf.5"

# mandoc also reports the state of the system's man page database ("outdated
# mandoc.db") and, depending on it, references to other packages' pages that this
# machine lacks; neither says anything about these pages.
# mandoc resolves .Xr references to pages in the current directory, hence the cd.
case "$mandoc" in
*/*) mandoc=$(cd "$(dirname "$mandoc")" && pwd)/$(basename "$mandoc") ;;
esac
cd "$top/man"
# shellcheck disable=SC2086  # the page names contain no blanks
out=$("$mandoc" -Tlint -Wall $pages 2>&1 | grep -v 'mandoc\.db' |
    grep -Ev 'referenced manual not found: Xr (nginx|systemd|systemd\.socket|spawn-fcgi) ' ||
    true)
if [ -n "$out" ]; then
	echo "$out"
	echo "man/lint.sh: mandoc -Tlint found problems in the man pages" >&2
	exit 1
fi
echo "man/lint.sh: the man pages lint cleanly"
