# lib-ship.sh: sourced by the shipping tests (tests/cli/t051*-ship-*.sh)
# after lib.sh: a mock Elasticsearch to ship to, and the checks that the
# events arrived exactly once and the counts reconcile.
MOCK_PY=$SRCDIR/tests/mock/mock_es.py
MOCK_PIDS=""

stop_mocks() {
	for p in $MOCK_PIDS; do
		kill "$p" 2>/dev/null || :
	done
	MOCK_PIDS=""
}
trap 'stop_mocks; cleanup' EXIT

# start_mock NAME [ARGS...]: a mock server; sets NAME_PORT and NAME_PID
# once it listens (it writes its port to a file: no sleeping).
start_mock() {
	_n=$1
	shift
	rm -f "$T/$_n.port"
	python3 "$MOCK_PY" --ready-file "$T/$_n.port" "$@" >"$T/$_n.log" 2>&1 &
	eval "${_n}_PID=$!"
	MOCK_PIDS="$MOCK_PIDS $!"
	wait_until 30 "[ -s '$T/$_n.port' ] || ! kill -0 $! 2>/dev/null"
	[ -s "$T/$_n.port" ] || fail "mock $_n did not start: $(cat "$T/$_n.log")"
	eval "${_n}_PORT=\$(cat '$T/$_n.port')"
}

# mockctl PORT METHOD PATH [JSON]: the mock's control API.
mockctl() {
	python3 "$MOCK_PY" ctl "$@"
}

# mock_stat PORT PYTHON-EXPR: print an expression over the mock's stats
# (s), e.g. mock_stat $P 's["docs"]'.
mock_stat() {
	mockctl "$1" GET /_mock/stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2"
}

# ship_conf PORT [LINE...]: a config that queues events and ships them to
# the mock over loopback http, with fast retries; exported.
ship_conf() {
	_p=$1
	shift
	{
		printf 'elasticsearch = http://127.0.0.1:%s\n' "$_p"
		printf 'es-insecure-http = yes\n'
		printf 'es-backoff = 10\nes-backoff-max = 40\n'
		printf 'ship-timeout = 20000\nes-read-timeout = 500\n'
		for _l; do
			printf '%s\n' "$_l"
		done
	} >"$T/ship.conf"
	FIMSCAN_CONFIG=$T/ship.conf
	export FIMSCAN_CONFIG
}

# scan_quiet ARGS: a scan whose findings (exit 1..15) are expected.
scan_quiet() {
	set +e
	fim scan "$@" >/dev/null
	_rc=$?
	set -e
	[ "$_rc" -lt 16 ] || fail "scan $* exited $_rc"
}

# make_changes DIR N: N new files under DIR (a new directory each time).
make_changes() {
	python3 - "$1" "$2" <<'PY'
import os, sys, uuid
d = os.path.join(sys.argv[1], "c" + uuid.uuid4().hex[:8])
os.makedirs(d)
for i in range(int(sys.argv[2])):
    with open(os.path.join(d, "f%05d" % i), "w") as f:
        f.write("%d\n" % i)
PY
}

# pending_ids FILE: the _ids waiting in the outbox, sorted.
pending_ids() {
	sqlite3 "$FIMSCAN_DB" 'SELECT doc_id FROM outbox' | sort >"$1"
}

# mock_ids PORT FILE: the _ids the mock stored, sorted ("index id").
mock_ids() {
	mockctl "$1" GET /_mock/docs | awk '{ print $2 }' | sort >"$2"
}

# status_check PYTHON-EXPR...: over `fimscan ship --status --format json`
# (d), e.g. status_check 'd["outbox"]["pending"] == 0'.
status_check() {
	fim ship --status --format json >"$T/status.json" ||
		fail "ship --status"
	json_check "$T/status.json" "$@"
}

# reconcile: the counters and the tables agree.
reconcile() {
	status_check 'd["outbox"]["enqueued"] == d["outbox"]["pending"] + d["outbox"]["delivered"] + d["outbox"]["dead"] + d["outbox"]["dropped"]'
	_rows=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
	_dead=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox_dead')
	status_check "d['outbox']['pending'] == $_rows" \
		"d['outbox']['dead'] == $_dead"
}

# gap_doc_valid FILE...: each file holds one coverage-gap document whose
# fields all exist in ECS 9.4 (or are fimscan's own, in its mapping) with
# a value of their type, and which the dashboard's gap panels select
# (event.action "coverage_gap", fimscan.gap.reason).
gap_doc_valid() {
	_fields=$(sh "$SRCDIR/tests/ecs/ecs-fields.sh" "${BUILDDIR:-$T}/ecs-9.4.0") ||
		fail "ECS field definitions (npm install @elastic/ecs@9.4.0)"
	python3 - "$_fields" "$SRCDIR/share/elasticsearch/fimscan@mappings.json" \
		"$@" <<'PY' || fail "a gap event is not valid ECS: $*"
import json, re, sys
ecs = json.load(open(sys.argv[1]))["fields"]
m = json.load(open(sys.argv[2]))["template"]["mappings"]["properties"]
def own(path):
    node = {"properties": m}
    for part in path.split("."):
        node = node.get("properties", {}).get(part)
        if node is None:
            return None
    return node.get("type")
def walk(o, prefix=""):
    for k, v in o.items():
        name = prefix + k
        if isinstance(v, dict):
            walk(v, name + ".")
            continue
        t = own(name) if name.startswith("fimscan.") else ecs.get(name, {}).get("type")
        assert t, "not in ECS or fimscan's mapping: " + name
        num = t in ("long", "integer", "unsigned_long")
        assert num == isinstance(v, int), name + " has the wrong type"
        if t == "date":
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", v), name
for f in sys.argv[3:]:
    doc = json.load(open(f))
    walk(doc)
    assert doc["event"]["action"] == ["coverage_gap"], f
    assert doc["event"]["kind"] == "event" and doc["event"]["category"] == ["file"], f
    assert doc["fimscan"]["gap"]["reason"] == doc["event"]["reason"], f
    assert re.match(r"^[0-9a-f]{40}$", doc["event"]["id"]), f
PY
}
