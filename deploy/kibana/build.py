#!/usr/bin/env python3
"""Generate deploy/kibana/darkwatch.ndjson: the Kibana saved objects darkwatch ships.

Why generate: saved objects embed JSON inside JSON strings (searchSourceJSON, visState,
panelsJSON); writing them by hand breaks quoting. Every id starts with ``darkwatch-`` and
never changes, so re-imports (``overwrite=true``) update in place. Aggregation-based
visualizations (not Lens) keep the objects small and readable. Target: Kibana 8.9+
(objects import only into the same or a newer Kibana). Run after changing anything here:

    python deploy/kibana/build.py
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).with_name("darkwatch.ndjson")
POSTS_DV, ALERTS_DV = "darkwatch-posts-dv", "darkwatch-alerts-dv"
REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
CORE = "8.8.0"


def _j(o: object) -> str:
    return json.dumps(o, separators=(",", ":"))


def obj(type_: str, id_: str, attributes: dict, references: list | None = None,
        tmv: str = "8.0.0") -> dict:
    return {"id": id_, "type": type_, "attributes": attributes, "references": references or [],
            "coreMigrationVersion": CORE, "typeMigrationVersion": tmv, "managed": False}


def source(query: str, dv: str, filters: list | None = None) -> tuple[dict, list]:
    meta = {"searchSourceJSON": _j({"query": {"query": query, "language": "kuery"},
                                    "filter": filters or [], "indexRefName": REF})}
    return meta, [{"name": REF, "type": "index-pattern", "id": dv}]


def data_view(id_: str, title: str, name: str) -> dict:
    return obj("index-pattern", id_, {"title": title, "name": name, "timeFieldName": "@timestamp",
                                      "allowHidden": False})


def search(id_: str, title: str, query: str, columns: list[str], sort: list[list[str]],
           dv: str = ALERTS_DV) -> dict:
    meta, refs = source(query, dv)
    return obj("search", id_, {"title": title, "description": "", "columns": columns, "sort": sort,
                               "grid": {}, "hideChart": False, "kibanaSavedObjectMeta": meta}, refs)


def vis(id_: str, title: str, vtype: str, aggs: list[dict], params: dict, query: str = "",
        dv: str = ALERTS_DV) -> dict:
    meta, refs = source(query, dv)
    state = {"title": title, "type": vtype, "params": params, "aggs": aggs}
    return obj("visualization", id_, {"title": title, "description": "", "visState": _j(state),
                                      "uiStateJSON": "{}", "version": 1, "kibanaSavedObjectMeta": meta},
               refs, tmv="8.5.0")


def count() -> dict:
    return {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def terms(field: str, size: int, schema: str = "segment", id_: str = "2") -> dict:
    return {"id": id_, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1",
                       "otherBucket": False, "missingBucket": False}}


ALERT_COLUMNS = ["darkwatch.alert.level", "darkwatch.alert.status", "rule.name", "darkwatch.forum",
                 "darkwatch.thread.title", "darkwatch.alert.count", "darkwatch.alert.related_rules",
                 "darkwatch.masked", "url.full"]


def build() -> list[dict]:
    objs = [
        data_view(POSTS_DV, "darkwatch-posts-*", "darkwatch posts"),
        data_view(ALERTS_DV, "darkwatch-alerts*", "darkwatch alerts"),
        search("darkwatch-search-open-alerts", "darkwatch: open alerts by level",
               "darkwatch.alert.status : \"open\"", ALERT_COLUMNS,
               [["event.severity", "desc"], ["@timestamp", "desc"]]),
        search("darkwatch-search-nir-alerts", "darkwatch: NIR alerts",
               "rule.name : (\"fr-nir\" or \"fr-nir-bulk\")", ALERT_COLUMNS, [["@timestamp", "desc"]]),
        search("darkwatch-search-alerts-per-forum", "darkwatch: alerts per forum", "",
               ["darkwatch.forum", *[c for c in ALERT_COLUMNS if c != "darkwatch.forum"]],
               [["darkwatch.forum", "asc"], ["@timestamp", "desc"]]),
        search("darkwatch-search-latest-critical", "darkwatch: latest critical alerts",
               "darkwatch.alert.level : \"critical\"", ALERT_COLUMNS, [["@timestamp", "desc"]]),
        vis("darkwatch-vis-alerts-over-time", "darkwatch: alerts over time", "histogram",
            [count(), {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
                       "params": {"field": "@timestamp", "interval": "auto", "min_doc_count": 1,
                                  "extended_bounds": {}}},
             terms("darkwatch.alert.level", 5, schema="group", id_="3")],
            {"type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right"}),
        vis("darkwatch-vis-alerts-by-rule", "darkwatch: alerts by rule", "horizontal_bar",
            [count(), terms("rule.name", 20)],
            {"type": "histogram", "addTooltip": True, "addLegend": False}),
        vis("darkwatch-vis-alerts-by-forum", "darkwatch: alerts by forum", "pie",
            [count(), terms("darkwatch.forum", 20)],
            {"type": "pie", "addTooltip": True, "addLegend": True, "isDonut": True}),
        vis("darkwatch-vis-top-authors", "darkwatch: top authors of matching posts", "table",
            [count(), terms("user.name", 20, schema="bucket")],
            {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False},
            query="darkwatch.match_count > 0", dv=POSTS_DV),
    ]
    panels = [
        ("darkwatch-vis-alerts-over-time", "visualization", 0, 0, 48, 12),
        ("darkwatch-vis-alerts-by-rule", "visualization", 0, 12, 16, 14),
        ("darkwatch-vis-alerts-by-forum", "visualization", 16, 12, 16, 14),
        ("darkwatch-vis-top-authors", "visualization", 32, 12, 16, 14),
        ("darkwatch-search-latest-critical", "search", 0, 26, 48, 16),
    ]
    panels_json, refs = [], []
    for n, (pid, ptype, x, y, w, h) in enumerate(panels, 1):
        panels_json.append({"version": "8.9.0", "type": ptype, "panelIndex": str(n),
                            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(n)},
                            "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{n}"})
        refs.append({"name": f"panel_{n}", "type": ptype, "id": pid})
    objs.append(obj("dashboard", "darkwatch-dashboard-overview", {
        "title": "darkwatch: overview", "description": "Alerts from dark-web forum monitoring",
        "panelsJSON": _j(panels_json), "optionsJSON": _j({"useMargins": True, "syncColors": False,
                                                          "hidePanelTitles": False}),
        "timeRestore": True, "timeFrom": "now-30d", "timeTo": "now", "refreshInterval":
        {"pause": True, "value": 0}, "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _j({"query": {"query": "", "language": "kuery"},
                                                          "filter": []})},
    }, refs, tmv="8.9.0"))
    return objs


def render() -> str:
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in build())


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT} ({len(build())} objects)")
