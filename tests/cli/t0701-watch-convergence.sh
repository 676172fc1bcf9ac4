#!/bin/sh
# t0701: the key invariant of `watch`: whatever happens to the tree while
# it runs (creates, in-place writes, appends, truncates, chmod and chown,
# renames of files and of whole directories, deletes of subtrees, hard
# links and writes through them, and a burst of 20,000 creates that
# overflows the inotify queue), after SIGTERM the store is what a full
# scan finds, and the events account for every change: each path that
# differs between the state at READY and the end has an event, the
# overflow is a gap event, and a rescan follows it.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"

BACKEND=${WATCH_BACKEND:-inotify}

mkdir -p tree/etc/conf.d tree/bin tree/data/old/deep tree/var/log \
	tree/mv-me/inner tree/gone/a/b tree/burst &&
for i in 1 2 3 4 5; do echo "setting $i" >"tree/etc/conf.d/$i.conf"; done &&
printf 'line one\nline two\n' >tree/etc/passwd &&
head -c 200000 /dev/urandom >tree/bin/tool &&
echo log >tree/var/log/app.log && echo keep >tree/data/old/deep/f &&
echo inner >tree/mv-me/inner/file && echo x >tree/gone/a/b/c &&
echo linked >tree/data/shared && echo r >tree/data/rename-me ||
	fail "setup"
fim baseline tree >/dev/null || fail "baseline"

start_watch watch --backend "$BACKEND" tree
start_seq=$(last_seq)
start_snap=$(latest_snap)

# --- the workload -----------------------------------------------------------
echo new >tree/etc/new.conf                            # create
mkdir -p tree/data/fresh/sub && echo a >tree/data/fresh/sub/a  # new subtree
printf 'LINE' | dd of=tree/bin/tool bs=1 seek=1000 conv=notrunc 2>/dev/null
echo appended >>tree/var/log/app.log                   # append
truncate -s 3 tree/etc/passwd                          # truncate
chmod 600 tree/etc/conf.d/1.conf                       # chmod
chown 1:1 tree/etc/conf.d/2.conf                       # chown
mv tree/data/rename-me tree/data/renamed               # file rename
mv tree/mv-me tree/moved                               # directory rename
echo more >>tree/moved/inner/file                      # ... then a write
rm -rf tree/gone                                       # subtree delete
ln tree/data/shared tree/etc/shared-link               # hard link
echo through >>tree/etc/shared-link                    # write through it
ln -s ../etc/passwd tree/bin/pw                        # symlink
echo a >tree/tmpfile && rm tree/tmpfile                # transient

# A burst in a watched directory while the daemon cannot read: 60,000
# events, the kernel queue (16384) overflows for certain, with no need to
# lower max_queued_events.
kill -STOP "$WPID"
burst tree/burst 20000
kill -CONT "$WPID"
# and changes after the overflow
echo after >>tree/etc/conf.d/3.conf
rm tree/etc/conf.d/4.conf
mkdir tree/late && echo late >tree/late/file

stop_watch

# --- the store is what a full scan finds --------------------------------------
fim scan --against latest tree >final.out ||
	fail "scan --against latest found differences: $(head -40 final.out)"
grep -q '^summary: no differences$' final.out || fail "$(cat final.out)"
# (a scan of the whole tree: the diff below sees all of it)
end_snap=$(latest_snap)

# --- the events account for every change -----------------------------------
fim diff --format json "$start_snap" "$end_snap" >diff.json || :
fim events --since "$start_seq" --format json >events.json ||
	fail "events"
python3 - diff.json events.json <<'PY' || fail "events do not account for the changes"
import json, sys
diff = json.load(open(sys.argv[1]))
ev = json.load(open(sys.argv[2]))["events"]
seen = set()
for e in ev:
    if e["kind"] != "change":
        continue
    for k in ("path_base64", "moved_from_base64"):
        if k in e:
            seen.add(e[k])
missing = []
for kind in ("added", "removed", "changed"):
    for it in diff[kind]:
        for k in ("path_base64", "moved_from_base64"):
            if k in it and it[k] not in seen:
                missing.append((kind, it.get(k[:-7])))
if missing:
    print("no event for:", missing[:20], "(%d in all)" % len(missing),
          file=sys.stderr)
    sys.exit(1)
total = sum(len(diff[k]) for k in ("added", "removed", "changed"))
assert total > 20000, total
gaps = [e for e in ev if e["kind"] == "gap" and e["action"] == "overflow"]
assert gaps, "no overflow gap event"
rescans = [e for e in ev if e["kind"] == "rescan" and e["action"] == "overflow"
           and e["seq"] > gaps[0]["seq"]]
assert rescans, "no rescan after the gap"
burst = [e for e in ev if e["kind"] == "change" and e["action"] == "added"
         and "/burst/" in e.get("path", "")]
assert len(burst) == 20000, len(burst)
after = [e for e in ev if e["seq"] > rescans[0]["seq"] and e["kind"] == "change"
         and e["path"].endswith(("/conf.d/3.conf", "/conf.d/4.conf", "/late/file"))]
assert after, "nothing recorded after the rescan"
t = [e for e in ev if e["action"] == "transient"
     and e["path"].endswith("/tmpfile")]
assert t, "no transient event for tmpfile"
PY

# the write through the hard link changed the other name too
fim events --format json >all.json
json_check all.json \
	"any(e.get('path', '').endswith('/data/shared') and e['action'] == 'changed' for e in d['events'])"
grep -q 'overflowed' "$WATCH_ERR" || fail "no overflow warning: $(cat "$WATCH_ERR")"
