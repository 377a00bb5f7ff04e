"""How evidence and analysts change an incident; every change comes back as history events.

* Evidence raises the level to the highest of its alerts ("escalated"); an acknowledged or
  closed incident whose level rises is reopened, and the history says why.
* ``false-positive`` records the incident's rules as suppressed: later evidence of those rules
  in the thread is still stored but no longer counts; evidence of another rule reopens it.
"""

from __future__ import annotations

from collections.abc import Iterable

from crawler.incidents.evidence import Evidence
from crawler.incidents.model import MAX_LIST, MAX_SAMPLES, STATUSES, Event, Incident, level_rank
from crawler.incidents.title import make_title

SYSTEM = "darkwatch"


def new_incident(inc_id: str, ev: Evidence, now: str) -> Incident:
    return Incident(id=inc_id, forum=ev.forum, thread_url=ev.thread_url,
                    thread_title=ev.thread_title, created=now, updated=now)


def _union(into: list[str], items: Iterable[str]) -> None:
    for it in items:
        if it and it not in into and len(into) < MAX_LIST:
            into.append(it)


def fold(inc: Incident, ev: Evidence, new_nirs: int) -> None:
    """Aggregate one post's evidence into the incident (no events, no status change)."""
    inc.thread_title = ev.thread_title or inc.thread_title
    if ev.live_level is None:
        return
    live = {name: lv for name, lv in ev.levels.items() if name not in ev.ignored}
    inc.posts += 1
    inc.alerts += len(live)
    if inc.posts == 1 or level_rank(ev.live_level) > inc.rank:
        inc.level = ev.live_level
    inc.nir_distinct += new_nirs
    _union(inc.rules, live)
    _union(inc.authors, [ev.author])
    _union(inc.labs, ev.labs)
    for s in ev.samples:
        if len(inc.samples) >= MAX_SAMPLES:
            break
        if s not in inc.samples:
            inc.samples.append(s)
    if ev.claimed_size and (inc.claimed_size or 0) < ev.claimed_size:
        inc.claimed_size = ev.claimed_size
    if ev.published:
        if inc.first_seen is None or ev.published < inc.first_seen:
            inc.first_seen = ev.published
        if inc.last_seen is None or ev.published > inc.last_seen:
            inc.last_seen = ev.published
    inc.title = make_title(inc)


def reset(inc: Incident) -> None:
    """Clear the aggregates before re-folding every evidence (an edited post, a merge)."""
    inc.posts = inc.alerts = inc.nir_distinct = 0
    inc.level = "informational"
    inc.labs, inc.rules, inc.authors, inc.samples = [], [], [], []
    inc.claimed_size = inc.first_seen = inc.last_seen = None


def outranking(before_rules: Iterable[str], evidence: Iterable[Evidence],
               level: str | None) -> dict[str, list[str]]:
    """New rules at the incident's level that outrank a same-level rule it already had:
    {new rule: [outranked rules]}."""
    had = set(before_rules)
    out: dict[str, list[str]] = {}
    for ev in evidence:
        for rule, narrower in ev.outranks.items():
            hit = sorted(set(narrower) & had)
            if rule not in had and rule not in ev.ignored and hit and ev.levels.get(rule) == level:
                out[rule] = sorted(set(out.get(rule, [])) | set(hit))
    return out


def _after_level_change(inc: Incident, before: str | None, now: str,
                        outranked: dict[str, list[str]] | None = None) -> list[Event]:
    """Escalation and reopen events once the aggregates have moved from level ``before``, or
    when new evidence outranks the incident's rules at the same level."""
    events: list[Event] = []
    if before is None:
        return events
    if level_rank(inc.level) > level_rank(before):
        events.append(Event(now, "escalated", data={"from": before, "to": inc.level}))
        why = f"evidence of level {inc.level} arrived"
    elif outranked:
        events.append(Event(now, "escalated", data={"from": before, "to": inc.level,
                                                    "outranks": outranked}))
        why = f"rule(s) {', '.join(sorted(outranked))} outrank what it had"
    else:
        return events
    if inc.status in ("acknowledged", "closed"):
        was = inc.status
        _set(inc, "open", SYSTEM, f"reopened: {why} while {was} at level {before}", now)
        events.append(Event(now, "reopened", note=inc.status_note,
                            data={"from": was, "to": "open", "level": inc.level}))
    return events


def add_evidence(inc: Incident, ev: Evidence, new_nirs: int, now: str,
                 created: bool = False) -> list[Event]:
    """Attach one new post's evidence; returns the history events it causes."""
    ev.ignored = [r for r in ev.levels if r in inc.suppressed_rules]
    before = None if created else inc.level
    before_rules = list(inc.rules)
    events: list[Event] = [Event(now, "created")] if created else []
    if ev.live_level is None:
        fold(inc, ev, 0)
        inc.updated = now
        return [*events, Event(now, "suppressed", data={
            "post_id": ev.post_id, "rules": sorted(ev.levels), "why": "marked false-positive"})]
    fold(inc, ev, new_nirs)
    inc.updated = now
    events.append(Event(now, "evidence", data={
        "post_id": ev.post_id, "alerts": len(ev.levels) - len(ev.ignored), "new_nirs": new_nirs,
        "nir_distinct": inc.nir_distinct, "posts": inc.posts}))
    if inc.status == "false-positive":
        fresh = sorted(set(ev.levels) - set(ev.ignored))
        _set(inc, "open", SYSTEM, f"reopened: evidence of rule(s) {', '.join(fresh)} not marked "
                                  "false-positive", now)
        events.append(Event(now, "reopened", note=inc.status_note,
                            data={"from": "false-positive", "to": "open", "rules": fresh}))
    events.extend(_after_level_change(inc, before, now, outranking(before_rules, [ev], before)))
    return events


def refold(inc: Incident, evidence: Iterable[Evidence], nir_distinct: int, now: str) -> list[Event]:
    """Recompute the aggregates from all evidence (after an edit or a merge)."""
    before = inc.level if inc.posts else None
    before_rules = list(inc.rules)
    evidence = list(evidence)
    reset(inc)
    for ev in evidence:
        fold(inc, ev, 0)
    inc.nir_distinct = nir_distinct
    inc.title = make_title(inc)
    inc.updated = now
    return _after_level_change(inc, before, now, outranking(before_rules, evidence, before))


def _set(inc: Incident, status: str, by: str, note: str, now: str) -> None:
    inc.status, inc.status_by, inc.status_at, inc.status_note = status, by, now, note
    inc.updated = now


def set_status(inc: Incident, status: str, by: str, note: str, now: str) -> Event:
    """An analyst's status change (who, when, why), recorded in the history."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    was = inc.status
    if status == "false-positive":
        inc.suppressed_rules = sorted(set(inc.suppressed_rules) | set(inc.rules))
    elif status == "open":
        inc.suppressed_rules = []  # reopened by hand: the analyst no longer calls it a false positive
    _set(inc, status, by, note, now)
    data: dict = {"from": was, "to": status}
    if status == "false-positive":
        data["suppressed_rules"] = inc.suppressed_rules
    return Event(now, "status", by=by, note=note, data=data)
