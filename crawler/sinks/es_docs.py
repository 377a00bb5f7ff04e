"""Posts and alerts as Elastic Common Schema documents, and back.

Pure functions (no client): the sink, the spool and the tests share them. Ids and index names
are functions of stable fields only, so a re-crawl or a replay lands on the same document:
posts go to ``<prefix>-posts-<yyyy.mm>`` by *published* month (``undated`` when the forum gave
no date, since ``crawled_at`` changes on every re-crawl), alerts to the single
``<prefix>-alerts`` index (triage updates need a regular index, not a data stream).
"""

from __future__ import annotations

import hashlib
from typing import Any

from crawler.model import Alert, Post

# ECS ``event.severity`` is numeric; these are the risk scores Elastic's own rules use.
SEVERITY = {"informational": 10, "low": 21, "medium": 47, "high": 73, "critical": 99}
_MAX_ID_BYTES = 200


def severity(level: str) -> int:
    return SEVERITY.get(level, SEVERITY["informational"])


def level_of(sev: int | None) -> str:
    for name, value in sorted(SEVERITY.items(), key=lambda kv: -kv[1]):
        if sev is not None and sev >= value:
            return name
    return "informational"


def post_key(forum: str, post_id: str) -> str:
    return f"{forum}:{post_id}"


def post_doc_id(post: Post) -> str:
    """``forum:post_id``, readable in Kibana; a hash when the forum's post id is huge."""
    key = post_key(post.forum, post.post_id)
    if len(key.encode("utf-8")) <= _MAX_ID_BYTES:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def month_suffix(published: str | None) -> str:
    if published and len(published) >= 7 and published[4] == "-":
        return f"{published[0:4]}.{published[5:7]}"
    return "undated"


def posts_index(prefix: str, post: Post) -> str:
    return f"{prefix}-posts-{month_suffix(post.published)}"


def raw_index(prefix: str, post: Post) -> str:
    return f"{prefix}-raw-{month_suffix(post.published)}"


def alerts_index(prefix: str) -> str:
    return f"{prefix}-alerts"


def match_to_doc(m: dict[str, Any]) -> dict[str, Any]:
    """A rule match as analysts filter it: ``rule`` is the rule's name (keyword).

    A clear ``value`` (``reveal`` mode) never leaves for Elasticsearch.
    """
    rule = m.get("rule")
    out = {k: v for k, v in m.items() if k not in ("rule", "value")}
    if isinstance(rule, dict):
        out.update(rule=rule.get("name"), rule_id=rule.get("id"), level=rule.get("level"))
    elif rule is not None:
        out["rule"] = rule
    return out


def post_to_doc(post: Post) -> dict[str, Any]:
    """The post as stored: ``message`` is the text as given (masked upstream by the rules)."""
    matches = [match_to_doc(m) for m in post.matches]
    return {
        "@timestamp": post.published or post.crawled_at,
        "event": {"kind": "event", "dataset": "darkwatch.post", "module": "darkwatch",
                  "created": post.crawled_at},
        "url": {"full": post.url},
        "user": {"name": post.author},
        "message": post.text,
        "darkwatch": {
            "forum": post.forum,
            "thread": {"url": post.thread_url, "title": post.thread_title},
            "post": {
                "id": post.post_id,
                "key": post_key(post.forum, post.post_id),
                "published": post.published,
                "quoted_text": post.quoted_text,
                "edited": post.edited,
                "content_sha256": post.content_sha256,
            },
            "matches": matches,
            "match_count": len(matches),
        },
    }


def doc_to_post(doc: dict[str, Any]) -> Post:
    dw = doc.get("darkwatch", {})
    p = dw.get("post", {})
    return Post(
        forum=dw.get("forum", ""), thread_url=dw.get("thread", {}).get("url", ""),
        thread_title=dw.get("thread", {}).get("title", ""), post_id=p.get("id", ""),
        author=doc.get("user", {}).get("name", ""), published=p.get("published"),
        text=doc.get("message", ""), quoted_text=p.get("quoted_text", ""),
        url=doc.get("url", {}).get("full", ""), crawled_at=doc.get("event", {}).get("created", ""),
        content_sha256=p.get("content_sha256", ""), edited=bool(p.get("edited")),
        matches=list(dw.get("matches") or []),
    )


def raw_to_doc(post: Post) -> dict[str, Any]:
    """Unmasked text for the restricted raw index: only what masking removed, keyed like posts."""
    return {
        "@timestamp": post.published or post.crawled_at,
        "event": {"kind": "event", "dataset": "darkwatch.raw", "created": post.crawled_at},
        "url": {"full": post.url},
        "message": post.text,
        "darkwatch": {"forum": post.forum,
                      "post": {"id": post.post_id, "key": post_key(post.forum, post.post_id),
                               "quoted_text": post.quoted_text}},
    }


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list | tuple):
        return [str(x) for x in v]
    return [str(v)]


# Fields of ``Alert.rule`` that ECS ``rule.*`` has a place for; the rest go to darkwatch.rule.
_ECS_RULE = ("id", "name", "description", "ruleset", "version", "category", "license", "uuid")


def alert_to_doc(alert: Alert) -> dict[str, Any]:
    rule = dict(alert.rule)
    ecs_rule: dict[str, Any] = {k: str(rule[k]) for k in _ECS_RULE if rule.get(k) not in (None, "")}
    if rule.get("author"):
        ecs_rule["author"] = _as_list(rule["author"])
    refs = rule.get("references", rule.get("reference"))
    if refs:
        ecs_rule["reference"] = _as_list(refs)
    extra = {k: v for k, v in rule.items()
             if k not in (*_ECS_RULE, "author", "references", "reference")}
    level = alert.level
    return {
        "@timestamp": alert.created,
        "event": {"kind": "alert", "dataset": "darkwatch.alert", "module": "darkwatch",
                  "created": alert.created, "severity": severity(level)},
        "rule": ecs_rule,
        "url": {"full": alert.post_url},
        "message": alert.snippet,
        "tags": _as_list(rule.get("tags")),
        "darkwatch": {
            "forum": alert.forum,
            "thread": {"url": alert.thread_url, "title": alert.thread_title},
            "post": {"id": alert.post_id, "key": post_key(alert.forum, alert.post_id),
                     "published": alert.published},
            "alert": {"id": alert.id, "level": level, "status": alert.status, "notes": [],
                      "counts": dict(alert.counts),
                      "count": sum(int(v) for v in alert.counts.values()),
                      "related_rules": list(alert.related_rules)},
            "rule": {"title": extra.get("title"), "level": level, "raw": extra},
            "masked": list(alert.masked),
            "fingerprints": list(alert.fingerprints),
        },
    }


# Re-detection refreshes an alert but must not reopen what an analyst triaged.
_TRIAGE_OWNED = ("status", "notes")


def alert_update_action(index: str, alert: Alert) -> dict[str, Any]:
    """Bulk ``update`` + ``upsert``: first sight creates, re-detection keeps status/notes/created."""
    full = alert_to_doc(alert)
    partial = {k: v for k, v in full.items() if k not in ("@timestamp",)}
    partial["event"] = {k: v for k, v in full["event"].items() if k != "created"}
    partial["darkwatch"] = dict(full["darkwatch"])
    partial["darkwatch"]["alert"] = {k: v for k, v in full["darkwatch"]["alert"].items()
                                     if k not in _TRIAGE_OWNED}
    return {"_op_type": "update", "_index": index, "_id": alert.id,
            "doc": partial, "upsert": full}


def doc_to_alert(doc: dict[str, Any]) -> Alert:
    dw = doc.get("darkwatch", {})
    r = doc.get("rule", {})
    extra = dict(dw.get("rule", {}).get("raw") or {})
    rule: dict[str, Any] = {**extra}
    for k in _ECS_RULE:
        if k in r:
            rule[k] = r[k]
    if "author" in r:
        rule["author"] = r["author"]
    if "reference" in r:
        rule["references"] = r["reference"]
    a = dw.get("alert", {})
    rule.setdefault("level", a.get("level") or level_of(doc.get("event", {}).get("severity")))
    return Alert(
        rule=rule, forum=dw.get("forum", ""), thread_url=dw.get("thread", {}).get("url", ""),
        thread_title=dw.get("thread", {}).get("title", ""),
        post_id=dw.get("post", {}).get("id", ""), post_url=doc.get("url", {}).get("full", ""),
        published=dw.get("post", {}).get("published"), counts=dict(a.get("counts") or {}),
        masked=list(dw.get("masked") or []), fingerprints=list(dw.get("fingerprints") or []),
        snippet=doc.get("message", ""), created=doc.get("event", {}).get("created", ""),
        status=a.get("status", "open"), id=a.get("id", ""),
        related_rules=list(a.get("related_rules") or []),
    )


# -- incidents ------------------------------------------------------------------------------
def incidents_index(prefix: str) -> str:
    return f"{prefix}-incidents"


# Fields an analyst owns (set from the CLI or by editing the document in Kibana): the crawl's
# updates leave them alone unless the crawl itself changed the status (a reopen).
INCIDENT_TRIAGE_OWNED = ("status", "status_by", "status_at", "status_note", "suppressed_rules")
_INCIDENT_FIELDS = ("id", "status", "level", "title", "created", "updated", "first_seen",
                    "last_seen", "posts", "alerts", "nir_distinct", "labs", "rules", "authors",
                    "samples", "claimed_size", "status_by", "status_at", "status_note",
                    "suppressed_rules", "merged_into", "merged_from")


def incident_to_doc(inc: Any, related: Any = None) -> dict[str, Any]:
    """The incident's full current state (never increments: a replay or a second worker writes
    the same document). Fingerprints stay in the analyst's store: only counts and masked samples.

    ``related``: dicts with ``id``, ``forum``, ``thread_url``, ``shared_fingerprints``,
    ``shared_authors`` (None: not recomputed, the field is left out)."""
    d = inc.to_dict()
    body = {k: d.get(k) for k in _INCIDENT_FIELDS}
    for k in ("created", "updated", "first_seen", "last_seen", "status_at"):
        body[k] = body[k] or None  # "" is not a date
    if related is not None:
        body["related"] = [{"id": r["id"], "forum": r.get("forum"), "thread_url": r.get("thread_url"),
                            "shared_fingerprints": int(r.get("shared_fingerprints") or 0),
                            "shared_authors": list(r.get("shared_authors") or [])}
                           for r in related]
        body["related_ids"] = [r["id"] for r in related]
    return {
        "@timestamp": inc.first_seen or inc.created,
        "event": {"kind": "alert", "dataset": "darkwatch.incident", "module": "darkwatch",
                  "created": inc.created, "severity": severity(inc.level),
                  "start": inc.first_seen, "end": inc.last_seen},
        "url": {"full": inc.thread_url},
        "message": inc.title,
        "darkwatch": {"forum": inc.forum,
                      "thread": {"url": inc.thread_url, "title": inc.thread_title},
                      "incident": body},
    }


def incident_update_action(index: str, inc: Any, related: Any = None,
                           with_status: bool = False) -> dict[str, Any]:
    """Bulk ``update`` + ``upsert`` keyed by the incident id. The crawl's partial document keeps
    the analyst's fields (status set in Kibana) unless ``with_status`` (the status change is
    the writer's own: a reopen by the crawl, a triage from the CLI)."""
    full = incident_to_doc(inc, related)
    partial = {k: v for k, v in full.items() if k != "darkwatch"}
    partial["darkwatch"] = dict(full["darkwatch"])
    if not with_status:
        partial["darkwatch"]["incident"] = {k: v for k, v in full["darkwatch"]["incident"].items()
                                            if k not in INCIDENT_TRIAGE_OWNED}
    return {"_op_type": "update", "_index": index, "_id": inc.id, "doc": partial, "upsert": full}
