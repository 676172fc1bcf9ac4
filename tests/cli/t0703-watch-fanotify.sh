#!/bin/sh
# t0703: the fanotify backend names the process behind a change: a write
# by a child process we started is attributed to its pid, its executable
# and its uid. (Skipped only when this kernel or these privileges cannot
# run fanotify at all: fanotify_init failing with EPERM or ENOSYS.)
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"

python3 - <<'PY' || { echo "SKIP: fanotify_init fails here (EPERM/ENOSYS): cannot test the fanotify backend"; exit 0; }
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
# FAN_CLASS_NOTIF | FAN_CLOEXEC, FAN_REPORT_DFID_NAME
fd = libc.fanotify_init(0x1 | 0xc00, os.O_RDONLY)
if fd < 0:
    e = ctypes.get_errno()
    sys.exit(1 if e in (1, 38) else 0)   # EPERM, ENOSYS
os.close(fd)
PY

mkdir -p tree/sub && echo old >tree/sub/target || fail "setup"
start_watch watch --backend fanotify tree
grep -q 'with fanotify' "$WATCH_ERR" || fail "not on fanotify: $(cat "$WATCH_ERR")"

# The child says who it is, writes, then waits for us (so /proc still
# describes it when the daemon looks: the attribution is racy by nature,
# see fimscan(1)); at most 120 s, should this test die.
mkfifo go
python3 - "$T/tree/sub/target" "$T/go" 9>&- <<'PY' &
import os, select, sys
with open("me.tmp", "w") as f:
    f.write("%d %s\n" % (os.getpid(), os.readlink("/proc/self/exe")))
os.rename("me.tmp", "me")
with open(sys.argv[1], "w") as f:
    f.write("new\n")
fd = os.open(sys.argv[2], os.O_RDWR)     # never blocks, unlike O_RDONLY
select.select([fd], [], [], 120)
PY
py=$!
wait_until 30 "[ -s me ]"
read -r child exe <me
wait_until 30 "fim events --format json >ev.json && python3 -c '
import json, sys
ev = json.load(open(\"ev.json\"))[\"events\"]
sys.exit(not any(e.get(\"path\") == \"$T/tree/sub/target\" and e[\"action\"] == \"changed\" for e in ev))'"
echo >go
wait "$py"

json_check ev.json \
	"[e for e in d['events'] if e.get('path') == '$T/tree/sub/target' and e['action'] == 'changed'][0]['process']['pid'] == $child" \
	"[e for e in d['events'] if e.get('path') == '$T/tree/sub/target' and e['action'] == 'changed'][0]['process']['executable'] == '$exe'" \
	"[e for e in d['events'] if e.get('path') == '$T/tree/sub/target' and e['action'] == 'changed'][0]['process']['uid'] == $(id -u)" \
	"[e for e in d['events'] if e.get('path') == '$T/tree/sub/target' and e['action'] == 'changed'][0]['backend'] == 'fanotify'"
fim events >ev.txt
grep -q "process  pid $child, uid $(id -u), $exe" ev.txt || fail "text: $(cat ev.txt)"

# A change made outside the roots on the same filesystem is not ours.
echo x >outside
stop_watch
fim events --format json >ev.json
json_check ev.json "not any('outside' in e.get('path', '') for e in d['events'])"
expect_exit 0 fim scan --against latest tree >out
