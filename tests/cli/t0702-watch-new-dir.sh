#!/bin/sh
# t0702: a file created inside a brand-new directory in the same instant
# (before any watch on that directory can exist) is recorded: the daemon
# watches the new directory and then scans it. Many times over, and
# nested (mkdir -p), so the race is really run.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"

BACKEND=${WATCH_BACKEND:-inotify}

mkdir tree || fail "setup"
start_watch watch --backend "$BACKEND" tree
for i in $(seq 1 200); do
	mkdir "tree/d$i" && echo "$i" >"tree/d$i/f"
done
mkdir -p tree/a/b/c/d/e && echo deep >tree/a/b/c/d/e/f
# a hostile name, in a new directory too: escaped in text, exact in JSON
evil=$(printf 'new\nline\033[31m%%n')
mkdir "tree/$evil" && echo x >"tree/$evil/$evil"
python3 - tree <<'PY' || fail "python workload"
import os, sys
t = sys.argv[1]
for i in range(100):
    p = os.path.join(t, "p%d" % i, "sub")
    os.makedirs(p)
    with open(os.path.join(p, "f"), "w") as f:
        f.write("x")
PY
stop_watch

fim events --format json >ev.json
json_check ev.json \
	"all(any(e.get('path') == '$T/tree/d%d/f' % i and e['action'] == 'added' for e in d['events']) for i in range(1, 201))" \
	"any(e.get('path') == '$T/tree/a/b/c/d/e/f' and e['action'] == 'added' for e in d['events'])" \
	"sum(1 for e in d['events'] if e.get('path', '').endswith('/sub/f') and e['action'] == 'added') == 100"
expect_exit 0 fim scan --against latest tree >out
grep -q '^summary: no differences$' out || fail "$(cat out)"
fim events >ev.txt
! grep -q "$(printf '\033')" ev.txt || fail "a raw escape in the text output"
grep -q 'new\\x0aline\\x1b\[31m%n/new\\x0aline\\x1b\[31m%n$' ev.txt ||
	fail "escaped name: $(grep -a line ev.txt)"
json_check ev.json \
	"any(base64.b64decode(e.get('path_base64', '')) == b'$T/tree/new\\nline\\x1b[31m%n/new\\nline\\x1b[31m%n' and e['action'] == 'added' for e in d['events'])"
