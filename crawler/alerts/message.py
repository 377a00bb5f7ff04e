"""Text of notifications: what an analyst needs to decide, nothing that leaks.

Plain text (apprise converts it per channel). Crawled strings go through :func:`clean`, the
whole message through :func:`scrub`: the Alert already carries masked values only, this is the
belt to those braces.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from crawler.alerts.throttle import Pending
from crawler.model import Alert
from crawler.privacy import clean, scrub, scrub_keeping
from crawler.vocabulary import level_rank

MAX_SAMPLES = 5
MAX_DIGEST_ITEMS = 50


def _ts(epoch: float) -> str:
    # 'T' and 'Z' keep the digits apart, so the digit-run scrub never eats a timestamp.
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")


def rule_title(alert: Alert) -> str:
    r = alert.rule
    return clean(str(r.get("title") or r.get("name") or r.get("id") or "?"), 120)


def kibana_link(template: str | None, alert_id: str) -> str | None:
    # str.replace, not format(): Kibana URLs carry rison/braces of their own.
    return template.replace("{id}", alert_id) if template else None


def _counts(alert: Alert) -> str:
    if not alert.counts:
        return "-"
    return ", ".join(f"{clean(str(k), 40)}: {int(v)}" for k, v in sorted(alert.counts.items()))


def _samples(alert: Alert) -> str:
    shown = [clean(str(s), 60) for s in alert.masked[:MAX_SAMPLES]]
    more = len(alert.masked) - len(shown)
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "") if shown else "-"


def format_alert(alert: Alert, held_back: int = 0, kibana_url: str | None = None) -> tuple[str, str]:
    """Title and body of the notification for one alert."""
    r = alert.rule
    title = f"[darkwatch] {alert.level.upper()}: {rule_title(alert)} on {clean(alert.forum, 60)}"
    lines = [
        f"Level: {alert.level}",
        f"Rule: {rule_title(alert)} (name {clean(str(r.get('name', '-')), 80)},"
        f" id {clean(str(r.get('id', '-')), 80)})",
        f"Forum: {clean(alert.forum, 60)}",
        f"Thread: {clean(alert.thread_title)}",
        f"Thread URL: {clean(alert.thread_url, 500)}",
        f"Post: {clean(alert.post_url, 500)}",
        f"Published: {clean(alert.published or 'unknown', 40)}",
        f"Matches: {_counts(alert)}",
        f"Masked samples: {_samples(alert)}",
    ]
    if alert.related_rules:
        lines.append("Also matched (outranked by this rule): "
                     + ", ".join(clean(str(n), 64) for n in alert.related_rules[:20]))
    if held_back:
        lines.append(f"Held back by throttling since the last notice for this rule and thread: {held_back}")
    link = kibana_link(kibana_url, alert.id)
    if link:
        lines.append(f"Kibana: {link}")
    lines.append(f"Alert id: {alert.id} (triage: darkwatch alerts ack|close|false-positive {alert.id})")
    return scrub(title), scrub_keeping("\n".join(lines), [alert.id])


def _pending_line(p: Pending) -> str:
    return (f"- [{p.level}] {clean(p.rule_title, 120)} | {clean(p.forum, 60)} | "
            f"{clean(p.thread_title)} <{clean(p.thread_url, 500)}>: "
            f"{p.count} further match(es) since {_ts(p.since)}")


def format_digest(
    queued: list[tuple[Alert, int]], pending: list[Pending], kibana_url: str | None = None
) -> tuple[str, str]:
    """One message for a run: new alerts (highest level first) and held-back counts."""
    levels = Counter(a.level for a, _ in queued)
    forums = {a.forum for a, _ in queued} | {p.forum for p in pending}
    held_total = sum(p.count for p in pending) + sum(h for _, h in queued)
    by_level = ", ".join(f"{n} {lvl}" for lvl, n in sorted(levels.items(), key=lambda kv: -level_rank(kv[0])))
    top = max((a.level for a, _ in queued), key=level_rank, default=None)
    title = (f"[darkwatch] digest: {len(queued)} alert(s)"
             + (f", top level {top.upper()}" if top else "")
             + (f", {held_total} held back" if held_total else ""))
    lines = [
        f"{len(queued)} new alert(s) ({by_level or 'none'}) across {len(forums)} forum(s); "
        f"{held_total} further match(es) held back by throttling.",
    ]
    ordered = sorted(queued, key=lambda ah: (-level_rank(ah[0].level), ah[0].created))
    if ordered:
        lines.append("")
        lines.append("New alerts:")
    for a, held in ordered[:MAX_DIGEST_ITEMS]:
        lines.append(f"- [{a.level}] {rule_title(a)} | {clean(a.forum, 60)} | {clean(a.thread_title)}"
                     f" <{clean(a.thread_url, 500)}>")
        extra = f"  matches: {_counts(a)}; samples: {_samples(a)}"
        if held:
            extra += f"; {held} earlier match(es) held back"
        lines.append(extra)
        link = kibana_link(kibana_url, a.id)
        lines.append(f"  {'kibana: ' + link if link else 'alert id: ' + a.id}")
    if len(ordered) > MAX_DIGEST_ITEMS:
        lines.append(f"... and {len(ordered) - MAX_DIGEST_ITEMS} more: darkwatch alerts list --status open")
    if pending:
        lines.append("")
        lines.append("Held back by throttling (one notice per rule and thread per window):")
        lines.extend(_pending_line(p) for p in pending[:MAX_DIGEST_ITEMS])
        if len(pending) > MAX_DIGEST_ITEMS:
            lines.append(f"... and {len(pending) - MAX_DIGEST_ITEMS} more thread(s)")
    return scrub(title), scrub_keeping("\n".join(lines), [a.id for a, _ in ordered[:MAX_DIGEST_ITEMS]])
