#!/usr/bin/env python3
"""validate.py: check a Kibana saved-objects NDJSON file offline.

Kibana has no JSON Schema for saved objects; these are the import rules of
../shared/reference/elastic.md ("Kibana saved objects"), checked the way
Kibana's import code applies them, plus the field check against ECS:

  file      one JSON object per line, the file ends with a newline, no
            type:id twice (Kibana answers 400 for the whole file)
  object    type, id, attributes, references [{name, type, id}],
            coreMigrationVersion 8.8.0, typeMigrationVersion per type
            (dashboard 8.7.0, search 8.0.0, index-pattern 7.11.0);
            other types are unsupported_type
  ...JSON   every attribute whose name ends in JSON is a string that parses
  index-pattern  title, timeFieldName "@timestamp", name
  dashboard attributes from the known set only (unknown ones are rejected):
            title, description, panelsJSON, optionsJSON,
            kibanaSavedObjectMeta.searchSourceJSON, timeRestore, timeFrom,
            timeTo, refreshInterval, and controlGroupInput (Kibana 8.8's
            dashboard schema has it: {panelsJSON, controlStyle,
            chainingSystem, ignoreParentSettingsJSON}; the controls of the
            "[Logs FIM] Events overview" dashboard that elastic.md cites
            live there)
  panels    type, panelIndex (unique), gridData {x, y, w, h, i} inside the
            48-column grid with i == panelIndex and no two panels
            overlapping, embeddableConfig; panelRefName == panel_<index>
            with the reference <index>:panel_<index>; a Lens panel by value
            (visualizationType lnsXY, lnsPie, lnsMetric, lnsDatatable...,
            state an object) has the reference
            <index>:indexpattern-datasource-layer-<layer> for every layer
  search    columns, sort, searchSourceJSON with indexRefName and its
            reference
  refs      every indexRefName has its reference; every referenced
            index-pattern or search is in the file (else
            missing_references)
  fields    every field a panel, control, filter, column or sort uses is an
            ECS 9.4 field (from @elastic/ecs EcsFlat) or one of fimscan's
            own (share/elasticsearch/fimscan@mappings.json), of a type that
            fits the use (a date histogram on a date, a sum on a number,
            terms on a keyword-like field)

Usage: validate.py [--ecs ECS_FIELDS.json] FILE...   (exit 1 on problems)
ECS_FIELDS.json is what tests/ecs/ecs-fields.sh makes from @elastic/ecs
(or any map of field name to type); without it only the
structure and fimscan's own fields are checked, and that is said.
As a module: load_ndjson(), load_ecs(), check() (used by the mock Kibana).
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAPPINGS = os.path.join(HERE, "..", "..", "share", "elasticsearch",
                        "fimscan@mappings.json")

CORE_VERSION = "8.8.0"
TYPE_VERSION = {"dashboard": "8.7.0", "search": "8.0.0",
                "index-pattern": "7.11.0"}
DASHBOARD_ATTRS = {"title", "description", "panelsJSON", "optionsJSON",
                   "kibanaSavedObjectMeta", "timeRestore", "timeFrom",
                   "timeTo", "refreshInterval", "controlGroupInput"}
CONTROL_GROUP_ATTRS = {"panelsJSON", "controlStyle", "chainingSystem",
                       "ignoreParentSettingsJSON"}
LENS_TYPES = {"lnsXY", "lnsPie", "lnsMetric", "lnsDatatable", "lnsGauge",
              "lnsHeatmap", "lnsLegacyMetric", "lnsTagcloud"}
GRID_COLUMNS = 48
PATTERN = "logs-fimscan.events-*"

STRINGY = {"keyword", "constant_keyword", "wildcard", "ip", "boolean",
           "version"}
NUMERIC = {"long", "integer", "short", "byte", "double", "float",
           "half_float", "scaled_float", "unsigned_long"}
# What each Lens operation needs of its source field.
OP_TYPES = {"terms": STRINGY | NUMERIC, "date_histogram": {"date"},
            "sum": NUMERIC, "average": NUMERIC, "max": NUMERIC | {"date"},
            "min": NUMERIC | {"date"}, "median": NUMERIC,
            "unique_count": STRINGY | NUMERIC | {"date"},
            "last_value": None, "range": NUMERIC}
DATA_TYPES = {"string": STRINGY, "number": NUMERIC, "date": {"date"},
              "boolean": {"boolean"}, "ip": {"ip"}}


class Invalid(Exception):
    """The file as a whole is refused (Kibana answers 400)."""


class Problem:
    def __init__(self, obj, kind, msg, refs=None):
        self.type = obj.get("type") if isinstance(obj, dict) else None
        self.id = obj.get("id") if isinstance(obj, dict) else None
        self.kind = kind            # missing_references, unsupported_type, unknown
        self.msg = msg
        self.refs = refs or []

    def __str__(self):
        return "%s:%s: %s" % (self.type, self.id, self.msg)


def load_ndjson(text):
    if not text.endswith("\n"):
        raise Invalid("the file does not end with a newline")
    objs, seen = [], set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip():
            raise Invalid("line %d is empty" % n)
        try:
            o = json.loads(line)
        except ValueError as e:
            raise Invalid("line %d is not JSON: %s" % (n, e))
        if not isinstance(o, dict):
            raise Invalid("line %d is not a JSON object" % n)
        key = "%s:%s" % (o.get("type"), o.get("id"))
        if key in seen:
            raise Invalid("line %d: %s appears twice" % (n, key))
        seen.add(key)
        objs.append(o)
    if not objs:
        raise Invalid("no saved objects")
    return objs


def load_ecs(path):
    if not path:
        return None
    with open(path) as f:
        d = json.load(f)
    # tests/ecs/ecs-fields.sh writes {"version", "fields": {name: {type}}}
    if isinstance(d.get("fields"), dict):
        d = d["fields"]
    return {k: (v["type"] if isinstance(v, dict) else v) for k, v in d.items()}


def fimscan_fields():
    """fimscan.* field -> type, from the component template."""
    with open(MAPPINGS) as f:
        m = json.load(f)
    out = {}

    def walk(props, prefix):
        for k, v in props.items():
            name = prefix + k
            if "properties" in v:
                walk(v["properties"], name + ".")
            else:
                out[name] = v.get("type", "object")
    walk(m["template"]["mappings"]["properties"], "")
    return out


def parse_json_attr(obj, problems, where, value):
    if not isinstance(value, str):
        problems.append(Problem(obj, "unknown", "%s is not a JSON-encoded string" % where))
        return None
    try:
        return json.loads(value)
    except ValueError as e:
        problems.append(Problem(obj, "unknown", "%s does not parse: %s" % (where, e)))
        return None


def json_attrs(obj, problems, node, where):
    """Every ...JSON attribute, at any depth of the attributes."""
    if isinstance(node, dict):
        for k, v in node.items():
            w = where + "." + k
            if k.endswith("JSON"):
                parse_json_attr(obj, problems, w, v)
            else:
                json_attrs(obj, problems, v, w)


class Fields:
    def __init__(self, ecs):
        self.ecs = ecs
        self.own = fimscan_fields()
        self.used = []

    def type_of(self, name):
        if name in self.own:
            return self.own[name]
        if self.ecs is not None:
            return self.ecs.get(name)
        return "unchecked"

    def check(self, obj, problems, name, where, want=None):
        self.used.append(name)
        t = self.type_of(name)
        if t is None:
            problems.append(Problem(obj, "unknown", "%s uses the field %s, which is "
                                    "neither in ECS 9.4 nor fimscan's own" % (where, name)))
        elif name.startswith("fimscan.") and name not in self.own:
            problems.append(Problem(obj, "unknown", "%s uses %s, which fimscan's "
                                    "mapping does not define" % (where, name)))
        elif want is not None and t != "unchecked" and t not in want:
            problems.append(Problem(obj, "unknown", "%s uses %s (%s) where it needs %s"
                                    % (where, name, t, "/".join(sorted(want)))))


KQL_FIELD = re.compile(r"(?:^|[\s(])([A-Za-z_@][\w.@]*)\s*:")


def kql_fields(query):
    if not isinstance(query, dict):
        return []
    q = query.get("query")
    if not isinstance(q, str) or query.get("language", "kuery") != "kuery":
        return []
    return KQL_FIELD.findall(q)


def check_search_source(obj, problems, fields, refs, src, where):
    if not isinstance(src, dict):
        return
    ref = src.get("indexRefName")
    if ref is not None and ref not in refs:
        problems.append(Problem(obj, "unknown", "%s: indexRefName %s has no reference" % (where, ref)))
    for f in kql_fields(src.get("query")):
        fields.check(obj, problems, f, where + " query")
    for i, flt in enumerate(src.get("filter") or []):
        meta = flt.get("meta") or {}
        r = meta.get("indexRefName")
        if r is not None and r not in refs:
            problems.append(Problem(obj, "unknown", "%s filter %d: indexRefName %s has no reference" % (where, i, r)))
        for k in ("key", "field"):
            if meta.get(k):
                fields.check(obj, problems, meta[k], "%s filter %d" % (where, i))
        for clause in ("match_phrase", "match", "term", "terms", "exists"):
            q = (flt.get("query") or {}).get(clause)
            if isinstance(q, dict):
                for f in q:
                    if clause == "exists" and f == "field":
                        fields.check(obj, problems, q[f], "%s filter %d" % (where, i))
                    elif clause != "exists":
                        fields.check(obj, problems, f, "%s filter %d" % (where, i))


def check_lens(obj, problems, fields, refs, panel, attrs):
    idx = panel.get("panelIndex")
    where = "panel %s" % idx
    if attrs.get("visualizationType") not in LENS_TYPES:
        problems.append(Problem(obj, "unknown", "%s: visualizationType %r is not a Lens type"
                                % (where, attrs.get("visualizationType"))))
    state = attrs.get("state")
    if not isinstance(state, dict):
        problems.append(Problem(obj, "unknown", "%s: Lens state is not an object" % where))
        return
    ds = state.get("datasourceStates") or {}
    layers = {}
    for key in ("formBased", "indexpattern"):
        layers.update(((ds.get(key) or {}).get("layers")) or {})
    if not layers:
        problems.append(Problem(obj, "unknown", "%s: Lens panel without layers" % where))
    for lid, layer in layers.items():
        name = "%s:indexpattern-datasource-layer-%s" % (idx, lid)
        if name not in refs:
            problems.append(Problem(obj, "unknown", "%s: no reference %s" % (where, name)))
        cols = layer.get("columns") or {}
        order = layer.get("columnOrder") or []
        for c in order:
            if c not in cols:
                problems.append(Problem(obj, "unknown", "%s: columnOrder names a missing column %s" % (where, c)))
        for cid, col in cols.items():
            src, op = col.get("sourceField"), col.get("operationType")
            if op is None:
                problems.append(Problem(obj, "unknown", "%s: column %s has no operationType" % (where, cid)))
            if src and src != "___records___":
                want = OP_TYPES.get(op, None)
                fields.check(obj, problems, src, "%s column %s" % (where, cid), want)
                # The column shows the field's values only for these;
                # a count or sum is a number whatever it counts.
                dt = DATA_TYPES.get(col.get("dataType"))
                if dt is not None and op in ("terms", "date_histogram",
                                             "last_value", "range"):
                    fields.check(obj, problems, src, "%s column %s dataType" % (where, cid), dt)
            if isinstance(col.get("filter"), dict):
                for f in kql_fields(col["filter"]):
                    fields.check(obj, problems, f, "%s column %s filter" % (where, cid))
            ob = (col.get("params") or {}).get("orderBy") or {}
            if ob.get("type") == "column" and ob.get("columnId") not in cols:
                problems.append(Problem(obj, "unknown", "%s: column %s orders by a missing column" % (where, cid)))
    for f in kql_fields(state.get("query")):
        fields.check(obj, problems, f, where + " query")
    for i, flt in enumerate(state.get("filters") or []):
        meta = flt.get("meta") or {}
        if meta.get("key"):
            fields.check(obj, problems, meta["key"], "%s filter %d" % (where, i))
    vis = state.get("visualization") or {}
    vis_layers = vis.get("layers") if isinstance(vis.get("layers"), list) else [vis]
    for vl in vis_layers:
        lid = vl.get("layerId")
        if lid is not None and lid not in layers:
            problems.append(Problem(obj, "unknown", "%s: the visualization names a missing layer %s" % (where, lid)))


def check_dashboard(obj, problems, fields, refs, ids):
    a = obj["attributes"]
    for k in a:
        if k not in DASHBOARD_ATTRS:
            problems.append(Problem(obj, "unknown", "unknown dashboard attribute %s" % k))
    for k in ("title", "panelsJSON", "optionsJSON"):
        if k not in a:
            problems.append(Problem(obj, "unknown", "dashboard without %s" % k))
    meta = a.get("kibanaSavedObjectMeta")
    if not isinstance(meta, dict) or "searchSourceJSON" not in meta:
        problems.append(Problem(obj, "unknown", "dashboard without kibanaSavedObjectMeta.searchSourceJSON"))
    else:
        src = parse_json_attr(obj, [], "", meta["searchSourceJSON"])
        check_search_source(obj, problems, fields, refs, src, "dashboard searchSourceJSON")
    if a.get("timeRestore") is True and not (a.get("timeFrom") and a.get("timeTo")):
        problems.append(Problem(obj, "unknown", "timeRestore without timeFrom and timeTo"))
    ri = a.get("refreshInterval")
    if ri is not None and not (isinstance(ri, dict) and isinstance(ri.get("pause"), bool)
                               and isinstance(ri.get("value"), int)):
        problems.append(Problem(obj, "unknown", "refreshInterval must be {pause, value}"))
    panels = parse_json_attr(obj, [], "", a.get("panelsJSON", "[]"))
    if not isinstance(panels, list):
        problems.append(Problem(obj, "unknown", "panelsJSON is not a list"))
        panels = []
    seen, cells = set(), {}
    for p in panels:
        if not isinstance(p, dict):
            problems.append(Problem(obj, "unknown", "a panel is not an object"))
            continue
        idx = p.get("panelIndex")
        where = "panel %s" % idx
        if not isinstance(idx, str) or not idx:
            problems.append(Problem(obj, "unknown", "a panel has no panelIndex"))
            continue
        if idx in seen:
            problems.append(Problem(obj, "unknown", "panelIndex %s twice" % idx))
        seen.add(idx)
        if not p.get("type"):
            problems.append(Problem(obj, "unknown", "%s has no type" % where))
        if not isinstance(p.get("embeddableConfig"), dict):
            problems.append(Problem(obj, "unknown", "%s has no embeddableConfig" % where))
        g = p.get("gridData")
        if not isinstance(g, dict) or any(not isinstance(g.get(k), int) for k in "xywh"):
            problems.append(Problem(obj, "unknown", "%s: gridData needs integer x, y, w, h" % where))
        else:
            if g.get("i") != idx:
                problems.append(Problem(obj, "unknown", "%s: gridData.i != panelIndex" % where))
            if g["x"] < 0 or g["y"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > GRID_COLUMNS:
                problems.append(Problem(obj, "unknown", "%s: gridData outside the %d-column grid"
                                        % (where, GRID_COLUMNS)))
            else:
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        if (x, y) in cells:
                            problems.append(Problem(obj, "unknown", "%s overlaps panel %s" % (where, cells[(x, y)])))
                            break
                        cells[(x, y)] = idx
                    else:
                        continue
                    break
        prn = p.get("panelRefName")
        if prn is not None:
            if prn != "panel_%s" % idx:
                problems.append(Problem(obj, "unknown", "%s: panelRefName %s is not panel_%s" % (where, prn, idx)))
            if "%s:%s" % (idx, prn) not in refs:
                problems.append(Problem(obj, "unknown", "%s: no reference %s:%s" % (where, idx, prn)))
        ec = p.get("embeddableConfig") or {}
        if p.get("type") == "lens" and prn is None:
            if not isinstance(ec.get("attributes"), dict):
                problems.append(Problem(obj, "unknown", "%s: a Lens panel needs a saved object or attributes" % where))
            else:
                check_lens(obj, problems, fields, refs, p, ec["attributes"])
        elif p.get("type") not in ("lens", "search", "visualization") and prn is None:
            problems.append(Problem(obj, "unknown", "%s: panel type %s is not checked" % (where, p.get("type"))))
    cg = a.get("controlGroupInput")
    if cg is not None:
        if not isinstance(cg, dict):
            problems.append(Problem(obj, "unknown", "controlGroupInput is not an object"))
        else:
            for k in cg:
                if k not in CONTROL_GROUP_ATTRS:
                    problems.append(Problem(obj, "unknown", "unknown controlGroupInput attribute %s" % k))
            controls = parse_json_attr(obj, [], "", cg.get("panelsJSON", "{}"))
            for cid, c in (controls or {}).items():
                ei = c.get("explicitInput") or {}
                if c.get("type") not in ("optionsListControl", "rangeSliderControl"):
                    problems.append(Problem(obj, "unknown", "control %s: unknown type %s" % (cid, c.get("type"))))
                    continue
                fields.check(obj, problems, ei.get("fieldName", ""), "control %s" % cid,
                             STRINGY | NUMERIC if c["type"] == "optionsListControl" else NUMERIC)
                kind = "optionsListDataView" if c["type"] == "optionsListControl" else "rangeSliderDataView"
                if "controlGroup_%s:%s" % (cid, kind) not in refs:
                    problems.append(Problem(obj, "unknown", "control %s: no reference controlGroup_%s:%s" % (cid, cid, kind)))


def check_search(obj, problems, fields, refs):
    a = obj["attributes"]
    if not a.get("title"):
        problems.append(Problem(obj, "unknown", "search without title"))
    cols = a.get("columns")
    if not isinstance(cols, list):
        problems.append(Problem(obj, "unknown", "search without columns"))
        cols = []
    for c in cols:
        fields.check(obj, problems, c, "column")
    for s in a.get("sort") or []:
        if not (isinstance(s, list) and len(s) == 2 and s[1] in ("asc", "desc")):
            problems.append(Problem(obj, "unknown", "sort entries are [field, asc|desc]"))
        else:
            fields.check(obj, problems, s[0], "sort")
    meta = a.get("kibanaSavedObjectMeta") or {}
    src = parse_json_attr(obj, [], "", meta.get("searchSourceJSON", "{}"))
    if not isinstance(src, dict) or src.get("indexRefName") != "kibanaSavedObjectMeta.searchSourceJSON.index":
        problems.append(Problem(obj, "unknown", "search: searchSourceJSON needs indexRefName "
                                "kibanaSavedObjectMeta.searchSourceJSON.index"))
    check_search_source(obj, problems, fields, refs, src, "searchSourceJSON")


def check(objs, ecs):
    problems = []
    fields = Fields(ecs)
    ids = {(o.get("type"), o.get("id")) for o in objs}
    for o in objs:
        for k in ("type", "id", "attributes"):
            if k not in o:
                problems.append(Problem(o, "unknown", "no %s" % k))
        if not all(k in o for k in ("type", "id", "attributes")):
            continue
        if not isinstance(o["attributes"], dict):
            problems.append(Problem(o, "unknown", "attributes is not an object"))
            continue
        t = o["type"]
        if t not in TYPE_VERSION:
            problems.append(Problem(o, "unsupported_type", "type %s cannot be imported here" % t))
            continue
        if o.get("coreMigrationVersion") != CORE_VERSION:
            problems.append(Problem(o, "unknown", "coreMigrationVersion must be %s (newer objects "
                                    "are refused by older Kibanas)" % CORE_VERSION))
        if o.get("typeMigrationVersion") != TYPE_VERSION[t]:
            problems.append(Problem(o, "unknown", "typeMigrationVersion of a %s must be %s"
                                    % (t, TYPE_VERSION[t])))
        refs = {}
        rl = o.get("references")
        if not isinstance(rl, list):
            problems.append(Problem(o, "unknown", "references is not a list"))
            rl = []
        for r in rl:
            if not (isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("name", "type", "id"))):
                problems.append(Problem(o, "unknown", "a reference lacks name, type or id"))
                continue
            if r["name"] in refs:
                problems.append(Problem(o, "unknown", "reference %s twice" % r["name"]))
            refs[r["name"]] = r
            if r["type"] in ("index-pattern", "search") and (r["type"], r["id"]) not in ids:
                problems.append(Problem(o, "missing_references", "reference %s: no %s %s in the file"
                                        % (r["name"], r["type"], r["id"]),
                                        refs=[{"type": r["type"], "id": r["id"]}]))
        json_attrs(o, problems, o["attributes"], "attributes")
        if t == "index-pattern":
            a = o["attributes"]
            if a.get("title") != PATTERN:
                problems.append(Problem(o, "unknown", "the data view's title must be %s" % PATTERN))
            if a.get("timeFieldName") != "@timestamp":
                problems.append(Problem(o, "unknown", "the data view's timeFieldName must be @timestamp"))
            if not a.get("name"):
                problems.append(Problem(o, "unknown", "the data view has no name"))
        elif t == "dashboard":
            check_dashboard(o, problems, fields, refs, ids)
        elif t == "search":
            check_search(o, problems, fields, refs)
    if not any(o.get("type") == "index-pattern" for o in objs):
        problems.append(Problem({}, "unknown", "a standalone file must include its index-pattern"))
    return problems


def main(argv):
    ecs_path = None
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == "--ecs":
            ecs_path = argv[i + 1]
            i += 2
        else:
            files.append(argv[i])
            i += 1
    if not files:
        print(__doc__.strip().split("\n")[0], file=sys.stderr)
        print("usage: validate.py [--ecs ECS_FIELDS.json] FILE...", file=sys.stderr)
        return 2
    ecs = load_ecs(ecs_path)
    if ecs is None:
        print("validate.py: no --ecs: field names are not checked against ECS", file=sys.stderr)
    bad = 0
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                objs = load_ndjson(f.read())
            problems = check(objs, ecs)
        except (Invalid, UnicodeDecodeError, OSError) as e:
            print("%s: %s" % (path, e))
            bad += 1
            continue
        for p in problems:
            print("%s: %s" % (path, p))
        if problems:
            bad += 1
        else:
            print("%s: ok (%d objects)" % (path, len(objs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
