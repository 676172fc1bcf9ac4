# watchlib.sh: sourced (after lib.sh) by the tests of `fimscan watch`.
#
# No test sleeps to wait for the daemon: start_watch waits for READY on a
# FIFO (--ready-fd), stop_watch sends SIGTERM and waits for the exit (the
# daemon records everything pending before it exits 0). What the daemon
# does on its own time (periodic scans) is polled for with a deadline.
#
# The watch tests take a lock: some of them lower the inotify limits of
# the whole machine for a moment (restored by their trap), which must not
# hit another watch test running beside them under `ctest -j`.

WPID=""
WATCH_ERR="$T/watch.err"

exec 9>"${TMPDIR:-/tmp}/fimscan-watch-tests-2.lock"
flock 9

watch_cleanup() {
	if [ -n "$WPID" ]; then
		kill -CONT "$WPID" 2>/dev/null || :
		kill -9 "$WPID" 2>/dev/null || :
	fi
	for r in $RESTORE; do
		# "file=value"
		printf '%s\n' "${r#*=}" >"${r%%=*}" 2>/dev/null || :
	done
	cleanup
}
RESTORE=""
trap watch_cleanup EXIT

# burst DIR N: N new one-byte files in DIR, created as fast as python can
# (while the daemon is stopped: more events than its kernel queue holds).
burst() {
	python3 - "$1" "$2" <<'PY' || fail "burst"
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%05d" % i), "w") as f:
        f.write("x")
PY
}

# set_limit FILE VALUE: write a /proc/sys value, restored at exit (or
# by restore_limits, as early as the test allows: the limit is the whole
# machine's).
set_limit() {
	RESTORE="$RESTORE $1=$(cat "$1")"
	printf '%s\n' "$2" >"$1"
}
restore_limits() {
	for r in $RESTORE; do
		printf '%s\n' "${r#*=}" >"${r%%=*}"
	done
	RESTORE=""
}

# read_ready: one line from the daemon's ready FIFO (fd 4), at most 120 s.
read_ready() {
	line=$(timeout 120 sh -c 'IFS= read -r l && printf "%s" "$l"' <&4) ||
		fail "watch did not say READY: $(cat "$WATCH_ERR")"
	[ "$line" = "READY=1" ] || fail "ready fd said '$line'"
}

# start_watch ARGS...: `fimscan ARGS...` (global options, then `watch`
# and its arguments) in the background; returns once it is READY.
start_watch() {
	rm -f "$T/ready"
	mkfifo "$T/ready"
	# (not holding the lock: a daemon left behind must not block others)
	"$FIMSCAN" "$@" --ready-fd 3 3>"$T/ready" 2>>"$WATCH_ERR" 9>&- &
	WPID=$!
	exec 4<"$T/ready"
	read_ready
}

# stop_watch: SIGTERM; the daemon must record what is pending and exit 0.
stop_watch() {
	kill -TERM "$WPID"
	set +e
	wait "$WPID"
	rc=$?
	set -e
	WPID=""
	exec 4<&-
	[ "$rc" -eq 0 ] || fail "watch exited $rc: $(cat "$WATCH_ERR")"
}

# events_ok PYTHON-EXPR: true about `fimscan events` (ev: the list; the
# JSON is left in $T/ev.json).
events_ok() {
	fim events --format json >"$T/ev.json" 2>/dev/null &&
		python3 - "$T/ev.json" "$1" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# last_seq: the newest event's sequence number (0 when there is none).
last_seq() {
	fim events --format json | python3 -c '
import json, sys
e = json.load(sys.stdin)["events"]
print(e[-1]["seq"] if e else 0)'
}

# latest_snap: the id of the newest snapshot.
latest_snap() {
	fim log --format json | python3 -c '
import json, sys
print(json.load(sys.stdin)["snapshots"][-1]["id"])'
}
