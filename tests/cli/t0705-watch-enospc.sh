#!/bin/sh
# t0705: out of inotify watches. The daemon still starts, names the
# subtrees it could not watch, says which max_user_watches would do, and
# covers them by periodic scans (a change there is recorded anyway).
# max_user_watches is lowered while the daemon starts, then restored.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"

LIMIT=/proc/sys/fs/inotify/max_user_watches
[ -w "$LIMIT" ] || { echo "SKIP: cannot change $LIMIT (not root?)"; exit 0; }

for i in $(seq 1 30); do mkdir -p "tree/d$i/sub"; done
echo x >tree/d30/sub/file
cat >w.conf <<EOF2
root $T/tree
rescan-interval = 1s
debounce = 50
EOF2

# Watches in use by this user now (all processes), plus room for 10 more.
used=$(cat /proc/[0-9]*/fdinfo/* 2>/dev/null | grep -c '^inotify wd:' || :)
set_limit "$LIMIT" $((used + 10))
start_watch -c w.conf watch
# the watches are placed (or not) by now: give the machine its limit back
restore_limits
grep -q 'cannot be watched' "$WATCH_ERR" || fail "no message: $(cat "$WATCH_ERR")"
want=$(sed -n 's/.*max_user_watches to at least \([0-9]*\) (it is \([0-9]*\)).*/\1 \2/p' "$WATCH_ERR")
[ -n "$want" ] || fail "no suggested limit: $(cat "$WATCH_ERR")"
set -- $want
# 61 directories in all, at most 10 of them watched
[ $(($1 - $2)) -ge 51 ] || fail "suggests $1 with the limit at $2"
grep -q "$T/tree/d" "$WATCH_ERR" || fail "no subtree named: $(cat "$WATCH_ERR")"

# a change deep in what cannot be watched is still recorded
echo changed >>tree/d30/sub/file
wait_until 60 "fim events --format json >ev.json && python3 -c '
import json, sys
ev = json.load(open(\"ev.json\"))[\"events\"]
sys.exit(not any(e.get(\"path\") == \"$T/tree/d30/sub/file\" and e[\"action\"] == \"changed\" for e in ev))'"
json_check ev.json "any(e['kind'] == 'gap' and e['action'] == 'unwatched' for e in d['events'])"
stop_watch
