#!/bin/sh
# t0510: with 'elasticsearch' in the config, a scan queues one ECS document
# per change in the outbox, in the snapshot's own transaction; `ship`
# delivers them to _bulk (create, gzip, deterministic _id) and exits 0
# once each was acknowledged; a resend of what Elasticsearch already has
# (the store copied back from before the ship: the state a kill -9 between
# Elasticsearch's answer and the outbox update leaves) is answered 409 and
# counts as delivered, so every event is stored exactly once; --namespace
# sends to another data stream; --status reports; counts reconcile.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"

start_mock es
ship_conf "$es_PORT"

mkdir -p tree/etc && echo a >tree/etc/a && echo b >tree/etc/b &&
echo c >tree/etc/c || fail "tree"
fim baseline tree >/dev/null || fail "baseline"
# The first snapshot has nothing to compare with: nothing queued.
status_check 'd["outbox"]["enqueued"] == 0'

make_changes tree 300
echo changed >tree/etc/a && rm tree/etc/b && chmod 600 tree/etc/c
scan_quiet tree
fim report --format ecs 1 2 >expected.ndjson || fail "report"
n=$(wc -l <expected.ndjson)
[ "$n" -ge 303 ] || fail "only $n changes"
status_check "d['outbox']['pending'] == $n" "d['outbox']['enqueued'] == $n" \
	"d['outbox']['oldest']['snapshot'] == 2"
reconcile
# The queued documents are exactly what `report --format ecs` renders.
sqlite3 "$FIMSCAN_DB" 'SELECT doc FROM outbox ORDER BY seq' >queued.ndjson
sort expected.ndjson >a && sort queued.ndjson >b && cmp -s a b ||
	fail "the outbox does not hold the report's documents"
pending_ids ids.txt
[ "$(wc -l <ids.txt)" -eq "$n" ] && [ "$(sort -u ids.txt | wc -l)" -eq "$n" ] ||
	fail "ids are not unique"
cp "$FIMSCAN_DB" before-ship.db

fim ship >out 2>err || fail "ship: $(cat err)"
grep -q "INSECURE" err || fail "no loud warning about plaintext http"
grep -q " $n delivered (0 already stored), 0 dead letters, 0 pending" out ||
	fail "ship summary: $(cat out)"
status_check 'd["outbox"]["pending"] == 0' "d['outbox']['delivered'] == $n" \
	'd["outbox"]["oldest"] is None'
reconcile
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq "$n" ] || fail "mock docs"
[ "$(mock_stat "$es_PORT" 's["items"].get("201", 0)')" -eq "$n" ] ||
	fail "201s"
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] ||
	fail "contract violations: $(mock_stat "$es_PORT" 's["violations"]')"
[ "$(mock_stat "$es_PORT" 's["gzip_requests"] == s["bulk_requests"] > 0')" = True ] ||
	fail "requests not gzipped"
[ "$(mock_stat "$es_PORT" 's["dotted_keys"]')" -eq 0 ] || fail "dotted keys"
mock_ids "$es_PORT" got.txt
cmp -s ids.txt got.txt || fail "the mock holds other ids than were queued"
[ "$(mock_stat "$es_PORT" 'list(s["by_index"])')" = "['logs-fimscan.events-default']" ] ||
	fail "index"

# Nothing pending: no request at all.
reqs=$(mock_stat "$es_PORT" 's["bulk_requests"]')
fim ship >out 2>&1 || fail "empty ship"
[ "$(mock_stat "$es_PORT" 's["bulk_requests"]')" -eq "$reqs" ] ||
	fail "an empty outbox sent requests"

# Elasticsearch has them, the store says pending: resend, 409, delivered.
cp before-ship.db "$FIMSCAN_DB" && rm -f "$FIMSCAN_DB-wal" "$FIMSCAN_DB-shm"
fim -q ship --format json >out.json || fail "resend"
json_check out.json "d['delivered'] == $n" "d['existed'] == $n" \
	'd["created"] == 0' 'd["pending"] == 0'
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq "$n" ] || fail "duplicates stored"
[ "$(mock_stat "$es_PORT" 's["items"].get("409", 0)')" -eq "$n" ] || fail "409s"
reconcile

# Another namespace: the documents are rewritten to match the stream.
make_changes tree 20
scan_quiet tree
n2=$(fim report --format ecs 2 3 | wc -l)
status_check "d['outbox']['pending'] == $n2"
fim -q ship --namespace prod_eu || fail "ship --namespace"
[ "$(mock_stat "$es_PORT" 's["by_index"].get("logs-fimscan.events-prod_eu")')" -eq "$n2" ] ||
	fail "prod_eu: $(mock_stat "$es_PORT" 's["by_index"]')"
mockctl "$es_PORT" GET /_mock/docs | grep '^logs-fimscan.events-prod_eu ' |
	cut -d' ' -f3- | head -n 1 >one.json
json_check one.json 'd["data_stream"]["namespace"] == "prod_eu"' \
	'd["event"]["dataset"] == "fimscan.events"'
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"

# The config's namespace is the one documents are queued with.
ship_conf "$es_PORT" "namespace = ops"
make_changes tree 5
scan_quiet tree
n3=$(fim report --format ecs 3 4 | wc -l)
[ "$(sqlite3 "$FIMSCAN_DB" "SELECT count(*) FROM outbox WHERE ns = 'ops'")" -eq "$n3" ] ||
	fail "namespace from the config"
fim -q ship || fail "ship ops"
[ "$(mock_stat "$es_PORT" 's["by_index"].get("logs-fimscan.events-ops")')" -eq "$n3" ] ||
	fail "ops"

# Usage.
expect_exit 16 fim ship extra 2>err
expect_exit 16 fim ship --namespace Bad-Name 2>err
grep -q "invalid namespace" err || fail "namespace message"
expect_exit 18 fim --db "$T/nothing.db" ship 2>err
[ ! -e "$T/nothing.db" ] || fail "ship created a store"
fim ship --status >st.txt || fail "status text"
grep -Eq '^  delivered +'"$((n + n2 + n3))"'$' st.txt ||
	fail "status: $(cat st.txt)"
reconcile
