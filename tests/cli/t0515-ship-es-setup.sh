#!/bin/sh
# t0515: `es-setup` installs the component template fimscan@mappings and
# the index template logs-fimscan.events exactly as elastic.md says, and
# imports the dashboard through Kibana's saved-objects API (the mock runs
# the offline validator on it, with the ECS 9.4 fields); running it again
# changes nothing; a server that is not Elasticsearch, wrong credentials
# and an unreachable Kibana fail with exit 25.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"

FIELDS=$(sh "$SRCDIR/tests/ecs/ecs-fields.sh" "${BUILDDIR:-$T}/ecs-9.4.0") ||
	fail "ECS field definitions (npm install @elastic/ecs@9.4.0)"
start_mock es --api-key kid:k-1 --ecs-fields "$FIELDS"
P=$es_PORT
printf 'kid:k-1\n' >key && chmod 600 key
printf 'es-insecure-http = yes\nes-api-key-file = %s\n' "$T/key" >setup.conf
FIMSCAN_CONFIG=$T/setup.conf
export FIMSCAN_CONFIG

fim -v es-setup --es-url "http://127.0.0.1:$P" \
	--kibana-url "http://127.0.0.1:$P" >out 2>err ||
	fail "es-setup: $(cat err)"
grep -q "^installed the component template fimscan@mappings$" out &&
grep -q "^installed the index template logs-fimscan.events$" out &&
grep -q "^imported the dashboard into Kibana (3 saved objects)$" out ||
	fail "es-setup said: $(cat out)"
mockctl "$P" GET /_mock/templates >t.json
json_check t.json \
	'd["index"]["logs-fimscan.events"]["index_patterns"] == ["logs-fimscan.events-*"]' \
	'd["index"]["logs-fimscan.events"]["data_stream"] == {}' \
	'd["index"]["logs-fimscan.events"]["priority"] == 200' \
	'd["index"]["logs-fimscan.events"]["composed_of"] == ["logs@mappings", "logs@settings", "fimscan@mappings", "logs@custom", "ecs@mappings"]' \
	'd["index"]["logs-fimscan.events"]["ignore_missing_component_templates"] == ["logs@custom"]' \
	'"fimscan" in d["component"]["fimscan@mappings"]["template"]["mappings"]["properties"]'
mockctl "$P" GET /_mock/kibana >k.json
json_check k.json 'sorted(d) == ["dashboard:fimscan-overview", "index-pattern:fimscan-events-data-view", "search:fimscan-latest-events"]'
# What was sent is the file in share/ (embedded at build time).
python3 - k.json "$SRCDIR/share/kibana/fimscan-dashboard.ndjson" <<'PY' ||
import json, sys
got = json.load(open(sys.argv[1]))
want = [json.loads(l) for l in open(sys.argv[2])]
assert len(want) == len(got)
for o in want:
    assert got["%s:%s" % (o["type"], o["id"])] == o
PY
	fail "the imported objects are not share/kibana/fimscan-dashboard.ndjson"

# Idempotent.
fim es-setup --es-url "http://127.0.0.1:$P" --kibana-url "http://127.0.0.1:$P" \
	>out 2>err || fail "second es-setup: $(cat err)"
[ "$(mock_stat "$P" 's["imports"]')" -eq 2 ] || fail "imports"
mockctl "$P" GET /_mock/kibana >k2.json && cmp -s k.json k2.json ||
	fail "the second import changed the objects"

# Templates only (no Kibana URL), from the config's settings.
printf 'elasticsearch = http://127.0.0.1:%s\nes-insecure-http = yes\nes-api-key-file = %s\n' \
	"$P" "$T/key" >setup.conf
fim es-setup >out 2>err || fail "es-setup from the config: $(cat err)"
[ "$(mock_stat "$P" 's["imports"]')" -eq 2 ] || fail "imported without a Kibana URL"

# Failures: wrong key, not Elasticsearch, Kibana unreachable, no URL.
printf 'kid:nope\n' >bad && chmod 600 bad
expect_exit 25 fim es-setup --api-key-file "$T/bad" 2>err
grep -q "refused the credentials" err || fail "401: $(cat err)"
python3 -m http.server --bind 127.0.0.1 0 >plain.log 2>&1 &
web=$!
MOCK_PIDS="$MOCK_PIDS $web"
wait_until 20 "grep -q 'port [0-9]' plain.log"
wp=$(sed -n 's/.*port \([0-9]*\).*/\1/p' plain.log | head -n 1)
expect_exit 25 fim es-setup --es-url "http://127.0.0.1:$wp" 2>err
grep -q "did not say it is Elasticsearch" err || fail "not ES: $(cat err)"
expect_exit 25 fim es-setup --kibana-url "http://127.0.0.1:1" >/dev/null 2>err
grep -q "cannot import the dashboard: http://127.0.0.1:1" err ||
	fail "no Kibana: $(cat err)"
printf 'es-insecure-http = yes\n' >setup.conf
expect_exit 16 fim es-setup 2>err
grep -q "no Elasticsearch URL" err || fail "no URL: $(cat err)"
