"""When an incident is worth a notification, and its text: per incident, not per post.

An analyst hears of a leak when its incident is created, when its level rises, and when its
count of distinct NIRs grows by the configured factor (x10 by default) since the last notice.
The baseline is kept on the incident, in the post's transaction: a re-crawl, a replay or a
second worker never notifies the same step twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from crawler.incidents.model import Event, Incident, level_rank
from crawler.model import Alert
from crawler.privacy import clean, scrub, scrub_keeping

DEFAULT_GROWTH = 10.0
MAX_RELATED_SHOWN = 5


def decide(inc: Incident, events: Sequence[Event], created: bool,
           growth: float = DEFAULT_GROWTH) -> str | None:
    """``created`` | ``escalated`` | ``nir-growth`` | None; moves the incident's baseline."""
    if inc.status == "false-positive":
        return None
    kinds = {e.kind for e in events}
    why = None
    if created:
        why = "created"
    elif "escalated" in kinds and (not inc.notified_level
                                   or level_rank(inc.level) > level_rank(inc.notified_level)
                                   or any(e.kind == "escalated" and e.data.get("outranks")
                                          for e in events)):
        why = "escalated"
    elif inc.nir_distinct > inc.notified_nirs and inc.nir_distinct >= max(inc.notified_nirs, 1) * growth:
        why = "nir-growth"
    if why is not None:
        inc.notified_nirs, inc.notified_level = inc.nir_distinct, inc.level
    return why


def as_alert(inc: Incident, why: str) -> Alert:
    """The incident as the record the notifier's throttle and digest handle.

    Throttle key (rule id, thread): an escalation opens a key of its own per level, so it is
    never held back behind the creation notice; growth shares the incident's window.
    """
    key = f"incident:{inc.level}" if why == "escalated" else "incident"
    step = f"{inc.id}\x00{why}\x00{inc.level}\x00{inc.nir_distinct}"
    ident = hashlib.sha256(step.encode()).hexdigest()[:32]
    return Alert(rule={"id": key, "name": "incident", "title": inc.title, "level": inc.level},
                 forum=inc.forum, thread_url=inc.thread_url, thread_title=inc.thread_title,
                 post_id=inc.id, post_url=inc.thread_url, published=inc.last_seen,
                 counts={"posts": inc.posts, "alerts": inc.alerts, "nir_distinct": inc.nir_distinct},
                 masked=list(inc.samples), fingerprints=[], snippet="", id=ident)


_WHY = {"created": "new incident", "escalated": "escalated", "nir-growth": "more patients exposed"}


def format_incident(inc: Incident, why: str, related: Sequence[dict[str, Any]] = (),
                    held_back: int = 0, kibana_url: str | None = None) -> tuple[str, str]:
    """Title and body of an incident notification (masked values only, scrubbed)."""
    title = (f"[darkwatch] {inc.level.upper()} incident ({_WHY.get(why, why)}): "
             f"{clean(inc.title, 140)} on {clean(inc.forum, 60)}")
    lines = [
        f"Incident: {clean(inc.title, 200)}",
        f"Level: {inc.level}   Status: {inc.status}   Why now: {_WHY.get(why, why)}",
        f"Forum: {clean(inc.forum, 60)}",
        f"Thread: {clean(inc.thread_title)}",
        f"Thread URL: {clean(inc.thread_url, 500)}",
        f"Seen: {inc.first_seen or '-'} .. {inc.last_seen or '-'}",
        f"Counts: {inc.posts} post(s) with evidence, {inc.alerts} alert(s), "
        f"{inc.nir_distinct} distinct NIR(s)",
        f"Labs: {', '.join(clean(x, 60) for x in inc.labs) or '-'}",
        f"Rules: {', '.join(clean(x, 64) for x in inc.rules) or '-'}",
        f"Masked samples: {', '.join(clean(x, 60) for x in inc.samples[:5]) or '-'}",
    ]
    shared = [r for r in related if r.get("shared_fingerprints")][:MAX_RELATED_SHOWN]
    if shared:
        lines.append("Related incidents (same NIRs): " + "; ".join(
            f"{r['id']} on {clean(r['forum'], 40)} ({r['shared_fingerprints']} shared)" for r in shared))
    if held_back:
        lines.append(f"Held back by throttling since the last notice for this incident: {held_back}")
    if kibana_url:
        lines.append(f"Kibana: {kibana_url.replace('{id}', inc.id)}")
    lines.append(f"Incident id: {inc.id} (darkwatch incidents show {inc.id}; "
                 "ack|close|false-positive to triage)")
    return scrub(title), scrub_keeping("\n".join(lines), [inc.id, *(str(r["id"]) for r in shared)])
