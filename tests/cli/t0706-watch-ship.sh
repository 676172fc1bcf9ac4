#!/bin/sh
# t0706: the watch daemon ships as it goes. With Elasticsearch configured
# it delivers each change soon after its snapshot commits, exactly once,
# with the _id a report gives it; through faults (503, 429 with
# Retry-After, connections dropped before and after storing, item 429/503)
# and an Elasticsearch restart, warning once per outage and saying when
# it is back; through kill -9 of the daemon while Elasticsearch holds a
# batch it stored but has not answered. SIGTERM stops it promptly even in
# the middle of a request, with exit 0. --no-ship and watch-ship = no
# leave the events queued for `fimscan ship`; SIGHUP restarts the
# shipping with the configuration read again.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
trap 'stop_mocks; watch_cleanup' EXIT

DOCS=$T/es.docs
start_mock es --docs-file "$DOCS"
# Fast retries; a stalled run gives up after 300 ms, so that the
# daemon's own backoff between runs is exercised too; answers may take
# long (the slow faults below are waited out only by a kill).
ship_conf "$es_PORT" "root $T/tree" "debounce = 50" "es-batch = 20" \
	"ship-timeout = 300" "es-read-timeout = 60000"

mkdir tree && echo a >tree/a || fail "setup"

# changes DIR N: N new files in the new directory tree/DIR.
changes() {
	mkdir "tree/$1" && python3 - "tree/$1" "$2" <<'PY' || fail "changes"
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%03d" % i), "w") as f:
        f.write("%d\n" % i)
PY
}

# expected_ids FILE: the _id of every change the daemon's snapshots
# queued: the ECS report of each snapshot against the one before it
# (kept in FILE between calls; FILE.last is the newest snapshot done).
expected_ids() {
	python3 - "$FIMSCAN" "$1" <<'PY' || fail "expected ids"
import json, os, subprocess, sys
fim, out = sys.argv[1], sys.argv[2]
last = int(open(out + ".last").read()) if os.path.exists(out + ".last") else 0
ids = set(open(out).read().split()) if os.path.exists(out) else set()
log = json.loads(subprocess.check_output([fim, "log", "--format", "json"]))
snaps = [s["id"] for s in log["snapshots"]]
for a, b in zip(snaps, snaps[1:]):
    if b <= last:
        continue
    rep = subprocess.run([fim, "report", "--format", "ecs", str(a), str(b)],
                         stdout=subprocess.PIPE, check=True).stdout
    ids.update(json.loads(l)["event"]["id"] for l in rep.splitlines())
open(out, "w").write("".join(i + "\n" for i in sorted(ids)))
open(out + ".last", "w").write("%d\n" % snaps[-1])
PY
}

# arrived PATH: the mock has a document for PATH, and nothing waits.
arrived() {
	[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')" -eq 0 ] &&
	mockctl "$es_PORT" GET /_mock/docs | grep -qF "\"path\":\"$T/tree/$1\""
}

# exactly_once: every queued change is in Elasticsearch, once, under the
# _id the report gives it (the mock keeps one document per _id and
# answers a second create 409), nothing else is, and the counts
# reconcile with nothing dead or dropped.
exactly_once() {
	expected_ids want.txt
	mockctl "$es_PORT" GET /_mock/docs >docs.txt
	python3 - want.txt docs.txt <<'PY' || fail "not exactly once"
import json, sys
want = set(open(sys.argv[1]).read().split())
got = {}
for line in open(sys.argv[2], "rb"):
    index, _id, doc = line.rstrip(b"\n").split(b" ", 2)
    d = json.loads(doc)
    assert index == b"logs-fimscan.events-default", index
    assert d["event"]["id"] == _id.decode(), (_id, d["event"]["id"])
    if d["event"]["action"] != ["coverage_gap"]:
        got[_id.decode()] = d
missing, unknown = want - set(got), set(got) - want
assert not missing and not unknown, (len(want), len(got), sorted(missing)[:5],
                                     sorted(unknown)[:5])
PY
	reconcile
	json_check "$T/status.json" 'd["outbox"]["pending"] == 0' \
		'd["outbox"]["dead"] == 0' 'd["outbox"]["dropped"] == 0' \
		"d['outbox']['delivered'] == $(wc -l <want.txt)"
	[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"
}

count() {
	grep -c "$1" "$WATCH_ERR" || :
}

# --- 1. changes arrive soon, each once, as the report renders them -------
start_watch -v watch
grep -q "shipping events to http://127.0.0.1:$es_PORT as they are queued" \
	"$WATCH_ERR" || fail "no shipper: $(cat "$WATCH_ERR")"
t0=$(date +%s.%N)
changes one 200
wait_until 30 "arrived one/f199"
t1=$(date +%s.%N)
exactly_once
mockctl "$es_PORT" GET /_mock/docs | grep -F "\"path\":\"$T/tree/one/f007\"" |
	cut -d' ' -f3- >f007.json
json_check f007.json 'd["event"]["action"] == ["created"]' \
	'd["file"]["type"] == "file"' 'd["file"]["size"] == 2' \
	'd["data_stream"]["namespace"] == "default"'
python3 -c "import sys; t = float(sys.argv[2]) - float(sys.argv[1]); \
print('t0706: 201 changes in %.2f s from the first write to the last ack' % t)" \
	"$t0" "$t1"

# SIGHUP: the shipper starts again with the configuration read again.
kill -HUP "$WPID"
read_ready
[ "$(count 'shipping events to')" -eq 2 ] || fail "not restarted on SIGHUP"
changes reloaded 10
wait_until 30 "arrived reloaded/f009"

# --- 2. faults on the way ------------------------------------------------
warned=$(count 'events wait in the outbox')
mockctl "$es_PORT" POST /_mock/faults '[
 {"status": 503}, {"status": 429, "retry_after": "1"}, {"drop": "after"},
 {"drop": "before"}, {"items": {"0": 429, "3": 503}}, {"truncate": true}
]' >/dev/null || fail "faults"
changes two 100
chmod 600 tree/one/f001 && echo more >>tree/one/f002 && rm tree/one/f003 &&
	mv tree/one/f004 tree/one/f204 || fail "changes"
wait_until 60 "arrived two/f099 && arrived one/f204"
[ "$(mock_stat "$es_PORT" 's["faults_left"]')" -eq 0 ] || fail "faults left"
exactly_once
[ "$(mock_stat "$es_PORT" 's["items"]["409"] >= 1')" = True ] ||
	fail "the batch stored before the connection dropped was not resent"
# Retry-After kept it waiting a second: an outage, said once, then over.
[ "$(count 'events wait in the outbox')" -eq $((warned + 1)) ] ||
	fail "not one warning for the faults: $(cat "$WATCH_ERR")"
grep -q "takes events again" "$WATCH_ERR" || fail "no recovery line"

# --- 3. Elasticsearch goes away and comes back ---------------------------
warned=$(count 'events wait in the outbox')
back=$(count 'takes events again')
runs=$(count 'shipping to .* again in')
kill -9 "$es_PID"
wait "$es_PID" 2>/dev/null || :
changes three 50
# several runs fail, each after its own retries
wait_until 60 "[ \$(count 'shipping to .* again in') -ge $((runs + 3)) ]"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')" -gt 0 ] ||
	fail "nothing waits while Elasticsearch is down"
start_mock es --port "$es_PORT" --docs-file "$DOCS"
wait_until 60 "arrived three/f049"
exactly_once
[ "$(count 'events wait in the outbox')" -eq $((warned + 1)) ] ||
	fail "not one warning for the outage: $(cat "$WATCH_ERR")"
[ "$(count 'takes events again')" -eq $((back + 1)) ] ||
	fail "no line when it was back"
! grep -q 'error:' "$WATCH_ERR" || fail "errors: $(cat "$WATCH_ERR")"

# --- 4. kill -9 while Elasticsearch holds a stored, unanswered batch -----
mockctl "$es_PORT" POST /_mock/faults '[{"slow": 60}]' >/dev/null
c409=$(mock_stat "$es_PORT" 's["items"].get("409", 0)')
changes four 30
wait_until 30 "[ \$(mock_stat $es_PORT 's[\"slow_waiting\"]') -ge 1 ]"
kill -9 "$WPID"
wait "$WPID" 2>/dev/null || :
WPID=""
exec 4<&-
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')" -gt 0 ] ||
	fail "the unanswered batch is not pending"
start_watch -v watch
wait_until 60 "arrived four/f029"
exactly_once
[ "$(mock_stat "$es_PORT" "s['items'].get('409', 0) > $c409")" = True ] ||
	fail "the stored batch was not sent again (409)"

# --- 5. SIGTERM in the middle of a request: prompt, exit 0 ----------------
mockctl "$es_PORT" POST /_mock/faults '[{"slow": 60}]' >/dev/null
w=$(mock_stat "$es_PORT" 's["slow_waiting"]')
changes five 10
wait_until 30 "[ \$(mock_stat $es_PORT 's[\"slow_waiting\"]') -gt $w ]"
t0=$(date +%s)
stop_watch
[ $(( $(date +%s) - t0 )) -le 5 ] || fail "SIGTERM took $(( $(date +%s) - t0 )) s"
grep -q "stopped: every change seen is recorded" "$WATCH_ERR" ||
	fail "not a clean stop: $(cat "$WATCH_ERR")"
fim -q ship || fail "ship what the stop left"
exactly_once

# --- 6. turned off: queued, not shipped ------------------------------------
d=$(mock_stat "$es_PORT" 's["docs"]')
start_watch watch --no-ship
changes six 5
wait_until 30 "[ \$(sqlite3 '$FIMSCAN_DB' 'SELECT count(*) FROM outbox') -ge 6 ]"
stop_watch
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq "$d" ] || fail "--no-ship shipped"
echo "watch-ship = no" >>"$T/ship.conf"
: >"$WATCH_ERR"
start_watch watch
stop_watch
! grep -q "shipping events to" "$WATCH_ERR" || fail "watch-ship = no shipped"
fim -q ship || fail "ship"
exactly_once
