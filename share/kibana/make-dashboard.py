#!/usr/bin/env python3
"""make-dashboard.py: write fimscan-dashboard.ndjson (run it after editing).

The saved objects are JSON with JSON-encoded strings inside (panelsJSON,
searchSourceJSON, ...), which nobody should edit by hand. This script is
their source: a data view on logs-fimscan.events-*, a saved search of the
latest events, and the "fimscan: file integrity overview" dashboard, in the
form Kibana 8.8 imports (../../../shared/reference/elastic.md; checked by
tests/dashboard/validate.py).

    python3 share/kibana/make-dashboard.py > share/kibana/fimscan-dashboard.ndjson
"""

import json
import sys
import uuid

NS = uuid.UUID("6f1c2b0e-5a1d-4c4e-9a57-1f1e5c0d9a11")
DATA_VIEW = "fimscan-events-data-view"
SEARCH = "fimscan-latest-events"
DASHBOARD = "fimscan-overview"
CORE = "8.8.0"


def uid(name):
    """Stable ids: the file must not change when nothing changed."""
    return str(uuid.uuid5(NS, name))


def js(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


# ---- Lens columns ------------------------------------------------------

def count(label="Changes", kql=None):
    c = {"label": label, "customLabel": True, "dataType": "number",
         "operationType": "count", "sourceField": "___records___",
         "isBucketed": False, "scale": "ratio", "params": {"emptyAsNull": True}}
    if kql:
        c["filter"] = {"query": kql, "language": "kuery"}
    return c


def metric(op, field, label):
    return {"label": label, "customLabel": True, "dataType": "number",
            "operationType": op, "sourceField": field, "isBucketed": False,
            "scale": "ratio", "params": {"emptyAsNull": True}}


def date_histogram():
    return {"label": "@timestamp", "dataType": "date",
            "operationType": "date_histogram", "sourceField": "@timestamp",
            "isBucketed": True, "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True,
                       "dropPartials": False}}


def terms(field, order_by, size=10, label=None, other=True):
    return {"label": label or "Top values of " + field,
            "customLabel": label is not None, "dataType": "string",
            "operationType": "terms", "sourceField": field,
            "isBucketed": True, "scale": "ordinal",
            "params": {"size": size, "orderBy": {"type": "column",
                                                 "columnId": order_by},
                       "orderDirection": "desc", "otherBucket": other,
                       "missingBucket": False, "parentFormat": {"id": "terms"}}}


# ---- panels --------------------------------------------------------------

class Board:
    def __init__(self):
        self.panels = []
        self.refs = []

    def lens(self, name, title, vis_type, columns, order, visualization,
             grid, kql=""):
        idx = uid("panel:" + name)
        layer = uid("layer:" + name)
        vis = json.loads(json.dumps(visualization).replace("LAYER", layer))
        attrs = {
            "title": title,
            "description": "",
            "visualizationType": vis_type,
            "type": "lens",
            "references": [{"type": "index-pattern", "id": DATA_VIEW,
                            "name": "indexpattern-datasource-layer-" + layer}],
            "state": {
                "visualization": vis,
                "query": {"query": kql, "language": "kuery"},
                "filters": [],
                "datasourceStates": {"formBased": {"layers": {layer: {
                    "columns": columns, "columnOrder": order,
                    "incompleteColumns": {}}}}},
                "internalReferences": [],
                "adHocDataViews": {},
            },
        }
        x, y, w, h = grid
        self.panels.append({
            "type": "lens", "panelIndex": idx,
            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": idx},
            "embeddableConfig": {"attributes": attrs, "enhancements": {},
                                 "hidePanelTitles": False, "title": title},
        })
        self.refs.append({"type": "index-pattern", "id": DATA_VIEW,
                          "name": "%s:indexpattern-datasource-layer-%s" % (idx, layer)})

    def search(self, name, title, grid):
        idx = uid("panel:" + name)
        x, y, w, h = grid
        self.panels.append({
            "type": "search", "panelIndex": idx,
            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": idx},
            "embeddableConfig": {"enhancements": {}, "title": title},
            "panelRefName": "panel_" + idx,
        })
        self.refs.append({"type": "search", "id": SEARCH,
                          "name": "%s:panel_%s" % (idx, idx)})


def metric_panel(b, name, title, column, x, kql=""):
    b.lens(name, title, "lnsMetric", {"m": column}, ["m"],
           {"layerId": "LAYER", "layerType": "data", "metricAccessor": "m"},
           (x, 0, 12, 6), kql)


def build():
    b = Board()
    gap = 'event.action : "coverage_gap"'
    metric_panel(b, "changes", "Changes", count(), 0,
                 'not event.action : "coverage_gap"')
    metric_panel(b, "hosts", "Hosts reporting",
                 metric("unique_count", "host.name", "Hosts"), 12)
    metric_panel(b, "bytes", "Bytes changed",
                 metric("sum", "fimscan.diff.bytes_changed", "Bytes changed"), 24)
    metric_panel(b, "gaps", "Coverage gaps (events lost)",
                 count("Coverage gaps", gap), 36)

    b.lens("over-time", "Changes over time by action", "lnsXY",
           {"t": date_histogram(), "a": terms("event.action", "n", 10),
            "n": count()}, ["t", "a", "n"],
           {"legend": {"isVisible": True, "position": "right"},
            "valueLabels": "hide", "preferredSeriesType": "bar_stacked",
            "fittingFunction": "None",
            "layers": [{"layerId": "LAYER", "layerType": "data",
                        "seriesType": "bar_stacked", "xAccessor": "t",
                        "splitAccessor": "a", "accessors": ["n"],
                        "position": "top", "showGridlines": False}]},
           (0, 6, 32, 12))
    b.lens("actions", "Actions", "lnsPie",
           {"a": terms("event.action", "n", 10), "n": count()}, ["a", "n"],
           {"shape": "donut",
            "layers": [{"layerId": "LAYER", "layerType": "data",
                        "primaryGroups": ["a"], "metrics": ["n"],
                        "numberDisplay": "percent",
                        "categoryDisplay": "default",
                        "legendDisplay": "default", "nestedLegend": False}]},
           (32, 6, 16, 12))
    b.lens("paths", "Top changed paths", "lnsDatatable",
           {"p": terms("file.path", "n", 20, "Path", other=False),
            "a": terms("event.action", "n", 5, "Actions", other=False),
            "n": count()}, ["p", "a", "n"],
           {"layerId": "LAYER", "layerType": "data",
            "columns": [{"columnId": "p"}, {"columnId": "a"},
                        {"columnId": "n"}]},
           (0, 18, 24, 14), "not " + gap)
    b.lens("hosts-bar", "Changes by host", "lnsXY",
           {"h": terms("host.name", "n", 20, "Host", other=True),
            "n": count()}, ["h", "n"],
           {"legend": {"isVisible": False, "position": "right"},
            "valueLabels": "show", "preferredSeriesType": "bar_horizontal",
            "layers": [{"layerId": "LAYER", "layerType": "data",
                        "seriesType": "bar_horizontal", "xAccessor": "h",
                        "accessors": ["n"], "position": "top",
                        "showGridlines": False}]},
           (24, 18, 24, 14), "not " + gap)
    b.lens("who", "Who changed files (process and user)", "lnsDatatable",
           {"e": terms("process.executable", "n", 15, "Process", other=False),
            "u": terms("user.id", "n", 5, "User id", other=False),
            "h": terms("host.name", "n", 5, "Host", other=False),
            "n": count()}, ["e", "u", "h", "n"],
           {"layerId": "LAYER", "layerType": "data",
            "columns": [{"columnId": "e"}, {"columnId": "u"},
                        {"columnId": "h"}, {"columnId": "n"}]},
           (0, 32, 24, 14), "process.executable : *")
    b.lens("bytes-time", "Bytes changed over time", "lnsXY",
           {"t": date_histogram(),
            "s": metric("sum", "fimscan.diff.bytes_changed", "Bytes changed")},
           ["t", "s"],
           {"legend": {"isVisible": False, "position": "right"},
            "valueLabels": "hide", "preferredSeriesType": "line",
            "fittingFunction": "Zero",
            "layers": [{"layerId": "LAYER", "layerType": "data",
                        "seriesType": "line", "xAccessor": "t",
                        "accessors": ["s"], "position": "top",
                        "showGridlines": False}]},
           (24, 32, 24, 14))
    b.lens("gaps-table", "Coverage gaps: overflows and events lost",
           "lnsDatatable",
           {"h": terms("host.name", "n", 20, "Host", other=False),
            "r": terms("fimscan.gap.reason", "n", 5, "Why", other=False),
            "n": count("Gaps"),
            "e": metric("sum", "fimscan.gap.events", "Events lost")},
           ["h", "r", "n", "e"],
           {"layerId": "LAYER", "layerType": "data",
            "columns": [{"columnId": "h"}, {"columnId": "r"},
                        {"columnId": "n"}, {"columnId": "e"}]},
           (0, 46, 48, 10), gap)
    b.search("latest", "Latest events, with hashes", (0, 56, 48, 18))
    return b


CONTROLS = [("host.name", "Host"), ("event.action", "Action"),
            ("file.path", "Path"), ("process.executable", "Process"),
            ("user.id", "User id")]


def objects():
    b = build()
    controls, control_refs = {}, []
    for order, (field, title) in enumerate(CONTROLS):
        cid = uid("control:" + field)
        controls[cid] = {
            "order": order, "width": "medium", "grow": True,
            "type": "optionsListControl",
            "explicitInput": {"id": cid, "fieldName": field, "title": title,
                              "dataViewId": DATA_VIEW, "selectedOptions": [],
                              "searchTechnique": "prefix", "exclude": False,
                              "existsSelected": False,
                              "sort": {"by": "_count", "direction": "desc"}}}
        control_refs.append({"type": "index-pattern", "id": DATA_VIEW,
                             "name": "controlGroup_%s:optionsListDataView" % cid})
    data_view = {
        "type": "index-pattern", "id": DATA_VIEW,
        "attributes": {"title": "logs-fimscan.events-*",
                       "timeFieldName": "@timestamp",
                       "name": "fimscan file integrity events"},
        "references": [], "coreMigrationVersion": CORE,
        "typeMigrationVersion": "7.11.0"}
    search = {
        "type": "search", "id": SEARCH,
        "attributes": {
            "title": "fimscan: latest events",
            "description": "Every change fimscan shipped, newest first, "
                           "with its hashes and the previous ones.",
            "columns": ["host.name", "event.action", "file.path",
                        "fimscan.changed_attributes", "file.hash.sha256",
                        "fimscan.previous.hash.sha256",
                        "process.executable", "user.id"],
            "sort": [["@timestamp", "desc"]],
            "grid": {}, "hideChart": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": js({
                "query": {"query": "", "language": "kuery"}, "filter": [],
                "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"})}},
        "references": [{"type": "index-pattern", "id": DATA_VIEW,
                        "name": "kibanaSavedObjectMeta.searchSourceJSON.index"}],
        "coreMigrationVersion": CORE, "typeMigrationVersion": "8.0.0"}
    dashboard = {
        "type": "dashboard", "id": DASHBOARD,
        "attributes": {
            "title": "fimscan: file integrity overview",
            "description": "What changed on which host, who changed it, how "
                           "much, and where coverage was lost "
                           "(logs-fimscan.events-*).",
            "panelsJSON": js(b.panels),
            "optionsJSON": js({"useMargins": True, "syncColors": False,
                               "syncCursor": True, "syncTooltips": False,
                               "hidePanelTitles": False}),
            "timeRestore": True, "timeFrom": "now-7d", "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 60000},
            "controlGroupInput": {
                "controlStyle": "oneLine", "chainingSystem": "HIERARCHICAL",
                "panelsJSON": js(controls),
                "ignoreParentSettingsJSON": js({
                    "ignoreFilters": False, "ignoreQuery": False,
                    "ignoreTimerange": False, "ignoreValidations": False})},
            "kibanaSavedObjectMeta": {"searchSourceJSON": js({
                "query": {"query": "", "language": "kuery"}, "filter": []})}},
        "references": b.refs + control_refs,
        "coreMigrationVersion": CORE, "typeMigrationVersion": "8.7.0"}
    return [data_view, search, dashboard]


def main():
    out = "".join(json.dumps(o, separators=(",", ":"), sort_keys=True) + "\n"
                  for o in objects())
    sys.stdout.write(out)


if __name__ == "__main__":
    main()
