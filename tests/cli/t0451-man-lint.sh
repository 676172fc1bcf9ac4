#!/bin/sh
# t0451-man-lint.sh: both man pages are clean for `mandoc -Tlint -W warning`
# (errors and warnings; style suggestions such as "referenced manual not
# found" depend on what is installed and are not checked).
#
# Environment (from CTest): SRCDIR, the source tree.  mandoc (Debian package
# mandoc) is a required test dependency: without it the test fails.
set -eu

: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"

if ! command -v mandoc >/dev/null 2>&1; then
	echo "FAIL: mandoc is required for this test (apt-get install mandoc)" >&2
	exit 1
fi

status=0
for page in "$SRCDIR/man/fimscan.1" "$SRCDIR/man/fimscan.conf.5"; do
	if [ ! -r "$page" ]; then
		echo "FAIL: cannot read $page" >&2
		status=1
		continue
	fi
	rc=0
	out=$(mandoc -Tlint -W warning "$page" 2>&1) || rc=$?
	# mandoc exits 0 when nothing at or above -W was found; print whatever
	# it said either way.
	if [ -n "$out" ] || [ "$rc" -ne 0 ]; then
		echo "FAIL: mandoc -Tlint -W warning $page (exit $rc):" >&2
		printf '%s\n' "$out" >&2
		status=1
	else
		echo "ok: ${page#"$SRCDIR"/}"
	fi
done
exit "$status"
