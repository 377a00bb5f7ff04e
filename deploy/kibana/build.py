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
INCIDENTS_DV = "darkwatch-incidents-dv"
INCIDENT_ALERTS, INCIDENT_POSTS = "darkwatch-search-incident-alerts", "darkwatch-search-incident-posts"
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


def data_view(id_: str, title: str, name: str, formats: dict | None = None) -> dict:
    attrs = {"title": title, "name": name, "timeFieldName": "@timestamp", "allowHidden": False}
    if formats:
        attrs["fieldFormatMap"] = _j(formats)
    return obj("index-pattern", id_, attrs)


def thread_link(search_id: str, label: str) -> dict:
    """A URL field format: the thread URL of an incident opens the saved search ``search_id``
    filtered on that thread (from an incident to its alerts or posts, one click in Discover)."""
    query = "darkwatch.thread.url:\"{{value}}\""
    return {"id": "url", "params": {
        "type": "a", "openLinkInCurrentTab": False, "labelTemplate": label,
        "urlTemplate": f"/app/discover#/view/{search_id}?_g=(time:(from:now-5y,to:now))"
                       f"&_a=(query:(language:kuery,query:'{query}'))"}}


def search(id_: str, title: str, query: str, columns: list[str], sort: list[list[str]],
           dv: str = ALERTS_DV, description: str = "") -> dict:
    meta, refs = source(query, dv)
    return obj("search", id_, {"title": title, "description": description, "columns": columns,
                               "sort": sort,
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


INCIDENT_COLUMNS = ["darkwatch.incident.level", "darkwatch.incident.status", "message",
                    "darkwatch.forum", "darkwatch.incident.nir_distinct", "darkwatch.incident.posts",
                    "darkwatch.incident.labs", "darkwatch.incident.related_ids",
                    "darkwatch.thread.url", "url.full"]
OPEN = "darkwatch.incident.status : \"open\""


def incident_objects() -> list[dict]:
    """Incidents (one case per leaking thread): data view, saved searches, visualizations and
    their dashboard. On the data view, ``darkwatch.thread.url`` links to the thread's alerts and
    ``url.full`` to its posts."""
    dv = INCIDENTS_DV
    objs = [
        data_view(dv, "darkwatch-incidents", "darkwatch incidents", {
            "darkwatch.thread.url": thread_link(INCIDENT_ALERTS, "alerts of this incident"),
            "url.full": thread_link(INCIDENT_POSTS, "posts of this incident")}),
        search("darkwatch-search-open-incidents", "darkwatch: open incidents", OPEN,
               INCIDENT_COLUMNS, [["event.severity", "desc"], ["darkwatch.incident.nir_distinct", "desc"]],
               dv=dv),
        search("darkwatch-search-biggest-incidents", "darkwatch: biggest incidents (distinct NIRs)",
               "darkwatch.incident.nir_distinct > 0", INCIDENT_COLUMNS,
               [["darkwatch.incident.nir_distinct", "desc"]], dv=dv),
        search("darkwatch-search-related-incidents", "darkwatch: related incidents (shared NIRs or author)",
               "darkwatch.incident.related_ids : *",
               ["darkwatch.incident.id", "message", "darkwatch.forum", "darkwatch.incident.related_ids",
                "darkwatch.incident.related.shared_fingerprints", "darkwatch.incident.nir_distinct",
                "darkwatch.incident.status"],
               [["darkwatch.incident.nir_distinct", "desc"]], dv=dv),
        search(INCIDENT_ALERTS, "darkwatch: alerts of an incident", "", ALERT_COLUMNS,
               [["@timestamp", "asc"]], description="Opened from an incident's thread URL link "
               "(darkwatch incidents data view), filtered on darkwatch.thread.url"),
        search(INCIDENT_POSTS, "darkwatch: posts of an incident", "",
               ["user.name", "darkwatch.post.published", "darkwatch.match_count", "message", "url.full"],
               [["@timestamp", "asc"]], dv=POSTS_DV, description="Opened from an incident's "
               "url.full link (darkwatch incidents data view), filtered on darkwatch.thread.url"),
        vis("darkwatch-vis-open-incidents-by-level", "darkwatch: open incidents by level", "pie",
            [count(), terms("darkwatch.incident.level", 5)],
            {"type": "pie", "addTooltip": True, "addLegend": True, "isDonut": True}, query=OPEN, dv=dv),
        vis("darkwatch-vis-open-incidents-by-lab", "darkwatch: open incidents by lab named",
            "horizontal_bar", [count(), terms("darkwatch.incident.labs", 20)],
            {"type": "histogram", "addTooltip": True, "addLegend": False}, query=OPEN, dv=dv),
        vis("darkwatch-vis-incidents-over-time", "darkwatch: incidents over time (first seen)",
            "histogram",
            [count(), {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
                       "params": {"field": "@timestamp", "interval": "auto", "min_doc_count": 1,
                                  "extended_bounds": {}}},
             terms("darkwatch.incident.level", 5, schema="group", id_="3")],
            {"type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right"},
            dv=dv),
    ]
    objs.append(dashboard("darkwatch-dashboard-incidents", "darkwatch: incidents",
                          "One case per leaking thread: open incidents, labs, biggest, related", [
                              ("darkwatch-vis-open-incidents-by-level", "visualization", 0, 0, 16, 14),
                              ("darkwatch-vis-open-incidents-by-lab", "visualization", 16, 0, 16, 14),
                              ("darkwatch-vis-incidents-over-time", "visualization", 32, 0, 16, 14),
                              ("darkwatch-search-biggest-incidents", "search", 0, 14, 48, 16),
                              ("darkwatch-search-related-incidents", "search", 0, 30, 48, 14),
                          ]))
    return objs


def dashboard(id_: str, title: str, description: str, panels: list[tuple]) -> dict:
    panels_json, refs = [], []
    for n, (pid, ptype, x, y, w, h) in enumerate(panels, 1):
        panels_json.append({"version": "8.9.0", "type": ptype, "panelIndex": str(n),
                            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(n)},
                            "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{n}"})
        refs.append({"name": f"panel_{n}", "type": ptype, "id": pid})
    return obj("dashboard", id_, {
        "title": title, "description": description,
        "panelsJSON": _j(panels_json), "optionsJSON": _j({"useMargins": True, "syncColors": False,
                                                          "hidePanelTitles": False}),
        "timeRestore": True, "timeFrom": "now-30d", "timeTo": "now", "refreshInterval":
        {"pause": True, "value": 0}, "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _j({"query": {"query": "", "language": "kuery"},
                                                          "filter": []})},
    }, refs, tmv="8.9.0")


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
    objs.append(dashboard("darkwatch-dashboard-overview", "darkwatch: overview",
                          "Alerts from dark-web forum monitoring", panels))
    return objs + incident_objects()


def render() -> str:
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in build())


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT} ({len(build())} objects)")
