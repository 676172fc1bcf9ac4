#!/bin/sh
# t0704: SIGHUP reloads the configuration: new excludes take effect (no
# events from excluded places, the store converges to what a scan with
# the new config finds), the roots are rescanned (a "reload" rescan
# event), READY is said again; a broken config is refused and the daemon
# goes on with the one in force.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"

mkdir -p tree/keep tree/skip && echo a >tree/keep/a && echo b >tree/skip/b ||
	fail "setup"
cat >w.conf <<EOF2
root $T/tree
debounce = 100
EOF2
start_watch -c w.conf watch
echo one >tree/skip/one
# the new config: tree/skip is excluded from now on
cat >w.conf <<EOF2
root $T/tree
exclude $T/tree/skip
debounce = 50
EOF2
kill -HUP "$WPID"
read_ready
seq=$(last_seq)
echo two >tree/skip/two && echo three >tree/keep/three

# a broken config: refused, the daemon keeps going
cp w.conf good.conf
echo 'debounce = soon' >>w.conf
kill -HUP "$WPID"
read_ready
echo four >tree/keep/four
stop_watch
grep -q 'reload failed' "$WATCH_ERR" || fail "no refusal: $(cat "$WATCH_ERR")"
grep -q "w.conf:4: debounce must be" "$WATCH_ERR" || fail "$(cat "$WATCH_ERR")"

fim events --format json >all.json
fim events --since "$seq" --format json >ev.json
json_check all.json \
	"any(e['kind'] == 'rescan' and e['action'] == 'reload' for e in d['events'])"
json_check ev.json \
	"not any('/skip/' in e.get('path', '') for e in d['events'])" \
	"any(e.get('path') == '$T/tree/keep/three' and e['action'] == 'added' for e in d['events'])" \
	"any(e.get('path') == '$T/tree/keep/four' and e['action'] == 'added' for e in d['events'])"
expect_exit 0 fim -c good.conf scan --against latest >out
grep -q '^summary: no differences$' out || fail "$(cat out)"

# the settings themselves
printf 'root %s\nrescan-interval = 5x\nwatch-backend = kqueue\n' "$T/tree" >bad.conf
expect_exit 17 fim -c bad.conf check-config 2>err
grep -q 'rescan-interval must be a duration' err && grep -q "watch-backend must be 'inotify' or 'fanotify'" err ||
	fail "$(cat err)"
printf 'root %s\nrescan-interval = 90m\nwatch-backend = fanotify\ndebounce = 0\n' "$T/tree" >ok.conf
fim -c ok.conf check-config >/dev/null || fail "valid watch settings refused"
