#!/bin/sh
# t0516: share/kibana/fimscan-dashboard.ndjson follows the saved-objects
# import rules of elastic.md and uses only ECS 9.4 fields (from the npm
# package @elastic/ecs) or fimscan's own mapped ones, checked offline by
# tests/dashboard/validate.py; it is what make-dashboard.py writes; and the
# validator refuses each of a set of broken copies, offline and through
# the mock Kibana's import API (which answers in Kibana's shape).
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"

V=$SRCDIR/tests/dashboard/validate.py
D=$SRCDIR/share/kibana/fimscan-dashboard.ndjson
FIELDS=$(sh "$SRCDIR/tests/ecs/ecs-fields.sh" "${BUILDDIR:-$T}/ecs-9.4.0") ||
	fail "ECS field definitions (npm install @elastic/ecs@9.4.0)"

python3 "$V" --ecs "$FIELDS" "$D" >out || fail "the dashboard: $(cat out)"
python3 "$SRCDIR/share/kibana/make-dashboard.py" >made.ndjson &&
cmp -s made.ndjson "$D" ||
	fail "fimscan-dashboard.ndjson is not what make-dashboard.py writes"

# Broken copies, each of which the validator must refuse (written out as
# NAME.ndjson for the import checks below). In the snippets, `objs` are
# the objects, `dash`, `search`, `view` each one, `raw` the text.
python3 - "$D" "$FIELDS" "$SRCDIR/tests/dashboard" <<'PY' || fail "mutations"
import json, sys
sys.path.insert(0, sys.argv[3])
import validate
ecs = validate.load_ecs(sys.argv[2])
MUTATIONS = {
 "no-newline": 'out = raw[:-1]',
 "twice": 'objs.append(view)',
 "not-json": 'out = raw.replace("{", "[", 1)',
 "panels-object": 'dash["attributes"]["panelsJSON"] = panels',
 "panels-unparsable": 'dash["attributes"]["panelsJSON"] += "x"',
 "too-wide": 'panels[0]["gridData"]["x"] = 40; save()',
 "overlap": 'panels[4]["gridData"]["y"] = 0; save()',
 "grid-i": 'panels[0]["gridData"]["i"] = "other"; save()',
 "unknown-attribute": 'dash["attributes"]["version"] = 1',
 "new-migration": 'dash["typeMigrationVersion"] = "10.3.0"',
 "core-version": 'view["coreMigrationVersion"] = "9.9.9"',
 "layer-ref": 'dash["references"] = [r for r in dash["references"] if not r["name"].startswith(panels[0]["panelIndex"] + ":")]',
 "panel-ref": 'dash["references"] = [r for r in dash["references"] if r["type"] != "search"]',
 "no-view": 'objs.remove(view)',
 "search-ref": 'search["references"] = []',
 "bad-kql-field": 'layer(0)["columns"]["m"]["filter"] = {"query": "file.pathh : x", "language": "kuery"}; save()',
 "not-ecs": 'col(4, "terms")["sourceField"] = "event.actions"; save()',
 "sum-keyword": 'col(2, "sum")["sourceField"] = "file.path"; save()',
 "histogram-keyword": 'col(4, "date_histogram")["sourceField"] = "host.name"; save()',
 "fimscan-unmapped": 'col(2, "sum")["sourceField"] = "fimscan.bytes"; save()',
 "control": 'cg = dash["attributes"]["controlGroupInput"]; c = json.loads(cg["panelsJSON"]); next(iter(c.values()))["explicitInput"]["fieldName"] = "host.nam"; cg["panelsJSON"] = json.dumps(c)',
 "column": 'search["attributes"]["columns"].append("file.hash.sha257")',
 "view-title": 'view["attributes"]["title"] = "logs-*"',
 "lens-type": 'lens(0)["visualizationType"] = "lnsPies"; save()',
 "unsupported": 'objs.append({"type": "canvas-workpad", "id": "x", "attributes": {}, "references": [], "coreMigrationVersion": "8.8.0"})',
 "search-json": 'search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = {"query": {}}',
}
text = open(sys.argv[1]).read()
ok = True
for name, code in MUTATIONS.items():
    raw = text
    objs = [json.loads(l) for l in raw.splitlines()]
    by = {o["type"]: o for o in objs}
    dash, search, view = by["dashboard"], by["search"], by["index-pattern"]
    panels = json.loads(dash["attributes"]["panelsJSON"])
    lens = lambda i: [p for p in panels if p["type"] == "lens"][i]["embeddableConfig"]["attributes"]
    layer = lambda i: next(iter(lens(i)["state"]["datasourceStates"]["formBased"]["layers"].values()))
    col = lambda i, op: next(c for c in layer(i)["columns"].values() if c["operationType"] == op)
    def save():
        dash["attributes"]["panelsJSON"] = json.dumps(panels)
    env = dict(globals(), **locals())
    env["out"] = None
    exec(code, env)
    out = env["out"] if env["out"] is not None else "".join(json.dumps(o) + "\n" for o in objs)
    open(name + ".ndjson", "w").write(out)
    try:
        problems = validate.check(validate.load_ndjson(out), ecs)
    except validate.Invalid as e:
        problems = [e]
    if not problems:
        print("the validator accepts the broken copy", name)
        ok = False
sys.exit(0 if ok else 1)
PY

# Through the mock Kibana: the real answer shape.
start_mock kb --ecs-fields "$FIELDS"
imp() {
	python3 - "$kb_PORT" "$1" "${2:-kbn-xsrf}" <<'PY'
import sys, urllib.request, uuid
port, path, xsrf = sys.argv[1:4]
b = uuid.uuid4().hex
body = (b"--" + b.encode() + b"\r\nContent-Disposition: form-data; name=\"file\"; "
        b"filename=\"" + path.encode() + b"\"\r\nContent-Type: application/ndjson\r\n\r\n"
        + open(path, "rb").read() + b"\r\n--" + b.encode() + b"--\r\n")
req = urllib.request.Request("http://127.0.0.1:%s/api/saved_objects/_import?overwrite=true" % port,
                             data=body, method="POST",
                             headers={"Content-Type": "multipart/form-data; boundary=" + b, xsrf: "true"})
try:
    print(urllib.request.urlopen(req).read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
cp "$D" good.ndjson
imp good.ndjson >ans.json
json_check ans.json 'd["success"] is True' 'd["successCount"] == 3'
imp no-view.ndjson >ans.json
json_check ans.json 'd["success"] is False' \
	'any(e["error"]["type"] == "missing_references" for e in d["errors"])'
imp bad-kql-field.ndjson >ans.json
json_check ans.json 'd["success"] is False' \
	'd["errors"][0]["error"]["type"] == "unknown"' \
	'"file.pathh" in d["errors"][0]["error"]["message"]'
imp twice.ndjson >ans.txt
grep -q '^400 ' ans.txt || fail "a type:id twice must be a 400: $(cat ans.txt)"
imp good.ndjson other-header >ans.txt
grep -q '^400 .*kbn-xsrf' ans.txt || fail "kbn-xsrf not required"
