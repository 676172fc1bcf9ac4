# lib.sh: sourced by every tests/cli/tNNNN-*.sh. Each test runs in a fresh
# temporary directory with its own store; nothing outside it is touched.
# CTest passes FIMSCAN (the binary), SRCDIR and BUILDDIR.
set -eu
: "${FIMSCAN:?FIMSCAN must name the fimscan binary}"
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/fimscan-cli.XXXXXX")
MOUNTS=""
LOCK_PID=""
cleanup() {
	[ -z "$LOCK_PID" ] || kill "$LOCK_PID" 2>/dev/null || :
	for m in $MOUNTS; do umount -l "$m" 2>/dev/null || :; done
	chmod -R u+rwx "$T" 2>/dev/null || :
	rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
export FIMSCAN_DB="$T/store.db"
export NO_COLOR=1
unset FIMSCAN_CONFIG FIMSCAN_FAULT XDG_DATA_HOME 2>/dev/null || :
# Never pick up the machine's /etc/fimscan/fimscan.conf.
printf '' >"$T/empty.conf"
export FIMSCAN_CONFIG="$T/empty.conf"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# fim ARGS...: the binary, stdout and stderr as they are.
fim() {
	"$FIMSCAN" "$@"
}

# expect_exit STATUS CMD...: run CMD; its exit status must be STATUS.
expect_exit() {
	want=$1
	shift
	set +e
	"$@"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
}

# json_check FILE PYTHON-EXPR...: each expression, with `d` the parsed
# document, must be true.
json_check() {
	f=$1
	shift
	python3 - "$f" "$@" <<'PY' || fail "json check failed on $f"
import json, sys, base64
d = json.load(open(sys.argv[1]))
for expr in sys.argv[2:]:
    if not eval(expr):
        print("false:", expr, file=sys.stderr)
        print(json.dumps(d, indent=1)[:4000], file=sys.stderr)
        sys.exit(1)
PY
}

# wait_until DEADLINE_SECONDS SHELL-CONDITION: poll the condition until it
# holds; fail at the deadline. (No fixed sleeps: a tight poll on a cheap
# condition, yielding the CPU through the subshell.)
wait_until() {
	limit=$(( $(date +%s) + $1 ))
	while ! eval "$2"; do
		[ "$(date +%s)" -le "$limit" ] || fail "timed out: $2"
	done
}

# mount_tmpfs DIR SIZE: a small filesystem (for disk-full tests).
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2" tmpfs "$1" || return 1
	MOUNTS="$MOUNTS $1"
}

# hold_lock: another process takes the store's write lock (BEGIN
# IMMEDIATE) and keeps it until release_lock; returns once it holds it.
# (Processes started meanwhile would keep the FIFO open: none are.)
hold_lock() {
	rm -f "$T/locked" "$T/release"
	mkfifo "$T/release"
	python3 - "$FIMSCAN_DB" "$T/locked" "$T/release" <<'PY' &
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").write("locked\n")
open(sys.argv[3]).read()
db.execute("ROLLBACK")
PY
	LOCK_PID=$!
	# read-write: no wait for the reader (the FIFO's EOF is the release)
	exec 5<>"$T/release"
	wait_until 60 "[ -s '$T/locked' ] || ! kill -0 $LOCK_PID 2>/dev/null"
	[ -s "$T/locked" ] || fail "could not take the write lock"
}
release_lock() {
	exec 5>&-
	wait "$LOCK_PID" || fail "the lock holder failed"
	LOCK_PID=""
}
