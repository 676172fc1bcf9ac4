#!/bin/sh
# t0511: one `ship` through every fault Elasticsearch can throw at it
# (whole-request 503, 429 with Retry-After, 413, a connection dropped
# after the batch was stored, a truncated answer, an answer slower than
# the read timeout, one trickling a byte at a time, one larger than the
# response cap, items answered 429/503/400 among 201s): each event is
# stored exactly once, the refused one is a dead letter with its reason,
# and the counts reconcile. Then the faults that stop a run (401, a
# redirect, an answer that is no _bulk answer): exit 25, nothing lost, the
# next run delivers.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"

start_mock es
ship_conf "$es_PORT" "es-batch = 40"

mkdir tree && echo a >tree/a && fim baseline tree >/dev/null || fail "baseline"
make_changes tree 400
scan_quiet tree
n=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
[ "$n" -eq 402 ] || fail "$n events queued"
pending_ids ids.txt

# Request by request (40 events each, so 11 batches before retries).
mockctl "$es_PORT" POST /_mock/faults '[
 {"items": {"0": 429, "1": 503, "7": 400}},
 {"status": 503},
 {"status": 429, "retry_after": "1"},
 {"drop": "after"},
 {"status": 413},
 {"truncate": true},
 {"slow": 3},
 {"item_mod": [10, 3, 429]},
 {"trickle": 3},
 {"huge": 70000000},
 {"drop": "before"}
]' >/dev/null || fail "faults"
fim ship >out 2>err || fail "ship through faults: $(cat err)"
[ "$(mock_stat "$es_PORT" 's["faults_left"]')" -eq 0 ] || fail "faults left"

# Exactly once: 401 stored (one refused for good), each once.
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq $((n - 1)) ] || fail "docs"
[ "$(mock_stat "$es_PORT" 's["items"]["201"]')" -eq $((n - 1)) ] || fail "201s"
[ "$(mock_stat "$es_PORT" 's["items"]["409"] >= 80')" = True ] ||
	fail "the ambiguous batches were not resent (409s)"
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"
mock_ids "$es_PORT" got.txt
[ "$(comm -13 ids.txt got.txt | wc -l)" -eq 0 ] || fail "unknown ids stored"
[ "$(comm -23 ids.txt got.txt | wc -l)" -eq 1 ] || fail "missing ids"
status_check 'd["outbox"]["pending"] == 0' "d['outbox']['delivered'] == $n - 1" \
	'd["outbox"]["dead"] == 1' \
	'd["dead_letters"][0]["status"] == 400' \
	'"document_parsing_exception" in d["dead_letters"][0]["reason"]'
reconcile
dead=$(sqlite3 "$FIMSCAN_DB" 'SELECT doc_id FROM outbox_dead')
[ "$(comm -23 ids.txt got.txt)" = "$dead" ] || fail "the dead letter is another event"
grep -q "refused event .* kept as a dead letter: 400 document_parsing_exception" err ||
	fail "dead letter not reported: $(cat err)"
grep -q "503 unavailable_shards_exception" err || fail "503 not reported"
grep -q "larger than 67108864 bytes" err || fail "cap not reported"
grep -q "429 or 5xx" err || fail "item retries not reported"

# Retry-After: 1 was honoured (the next request came a second later).
mockctl "$es_PORT" GET /_mock/history >hist.json
python3 - hist.json <<'PY' || fail "Retry-After not honoured"
import json, sys
h = [r for r in json.load(open(sys.argv[1])) if "_bulk" in r["path"]]
i = next(i for i, r in enumerate(h) if r.get("fault") == "status 429")
gap = h[i + 1]["time"] - h[i]["time"]
assert gap >= 0.95, gap
PY
# 413: the 40 were sent again as two halves of 20.
grep -q '"status 413"' hist.json || fail "no 413"

# Faults that stop the run; the events stay, the next run delivers them.
make_changes tree 30
scan_quiet tree
m=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
mockctl "$es_PORT" POST /_mock/faults '[{"status": 401}]' >/dev/null
expect_exit 25 fim ship 2>err
grep -q "refused the credentials (HTTP 401 security_exception" err ||
	fail "401: $(cat err)"
mockctl "$es_PORT" POST /_mock/faults \
	'[{"redirect": "http://127.0.0.2:9/elsewhere"}]' >/dev/null
expect_exit 25 fim ship 2>err
grep -q "redirect (HTTP 307 to http://127.0.0.2:9/elsewhere), which is not followed" err ||
	fail "redirect: $(cat err)"
mockctl "$es_PORT" POST /_mock/faults '[{"status": 400}]' >/dev/null
expect_exit 25 fim ship 2>err
grep -q "answered HTTP 400" err || fail "400: $(cat err)"
status_check "d['outbox']['pending'] == $m"
reconcile
fim -q ship || fail "ship after the faults"
status_check 'd["outbox"]["pending"] == 0' \
	"d['outbox']['delivered'] == $n - 1 + $m"
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq $((n - 1 + m)) ] || fail "docs"
reconcile

# Elasticsearch unreachable: give up after ship-timeout, keep everything.
make_changes tree 3
scan_quiet tree
k=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
ship_conf 1 "ship-timeout = 300"
expect_exit 25 fim ship 2>err
grep -q "giving up on http://127.0.0.1:1: nothing was delivered for 0 s" err ||
	fail "give up: $(cat err)"
status_check "d['outbox']['pending'] == $k"
reconcile

# SIGINT while Elasticsearch holds a batch unanswered: exit 23 at once,
# nothing marked delivered that was not acknowledged.
ship_conf "$es_PORT"
mockctl "$es_PORT" POST /_mock/faults '[{"slow": 60}]' >/dev/null
"$FIMSCAN" ship >/dev/null 2>err &
pid=$!
wait_until 30 "[ \$(mock_stat $es_PORT 's[\"slow_waiting\"]') -ge 1 ] || ! kill -0 $pid"
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
[ $rc -eq 23 ] || fail "SIGINT: exit $rc: $(cat err)"
! grep -q retrying err || fail "retry announced after SIGINT: $(cat err)"
status_check "d['outbox']['pending'] == $k"
reconcile
