"""Monitoring gaps: a forum that has not been crawled successfully for N intervals.

A failing forum must reach the alert channels, not a log nobody reads. The crawl history is
the ``runs`` table of the SQLite state store (``SqliteStore.last_runs``), so the check needs no
extra state: it can run at the end of every crawl, or from the daemon on its own timer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from crawler.model import Alert

GAP_RULE = "darkwatch-monitoring-gap"
BLIND_RULE = "darkwatch-forum-blind"
# Failure kinds where the crawl "worked" but read nothing: the forum is not being watched.
BLIND_KINDS = ("no-threads", "no-posts", "redirected-to-login", "layout-changed", "login-failed",
               "session-expired")
DEFAULT_INTERVAL = 3600.0  # seconds: the hourly cron/systemd schedule
GAP_INTERVALS = 3
# How much run history to read when the store has no per-forum query: enough for hundreds of
# forums crawled hourly over the gap window.
HISTORY_LIMIT = 20000


def parse_ts(value: str | None) -> float | None:
    """Epoch seconds from the store's ISO 8601 UTC form (``...Z``); None when absent/garbled."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_history(store: Any, limit: int = HISTORY_LIMIT) -> dict[str, dict[str, Any]]:
    """Per forum: ``last_success`` and ``first_attempt`` (epoch seconds or None), ``failed_since``
    (count of finished non-ok runs after the last success), from the store's runs table."""
    out: dict[str, dict[str, Any]] = {}
    for run in store.last_runs(limit=limit):  # newest first
        forum = run.get("forum")
        if not forum:
            continue
        info = out.setdefault(forum, {"last_success": None, "first_attempt": None, "failed_since": 0})
        started = parse_ts(run.get("started"))
        if started is not None:
            info["first_attempt"] = started  # rows come newest first: the last one seen is oldest
        if info["last_success"] is not None:
            continue
        status = run.get("status")
        if status == "ok":
            info["last_success"] = parse_ts(run.get("finished")) or started
        elif status is not None and status != "stopped":  # stopped: SIGTERM/SIGINT, not a failure
            info["failed_since"] += 1
    return out


def last_successes(store: Any, limit: int = HISTORY_LIMIT) -> dict[str, float]:
    """Epoch seconds of each forum's last successful run (forums never successful are absent)."""
    return {f: i["last_success"] for f, i in run_history(store, limit).items() if i["last_success"]}


def _forum_interval(forum: Any, interval: float | Mapping[str, float] | None, now: float) -> float:
    name = getattr(forum, "name", forum)
    if isinstance(interval, Mapping):
        if name in interval:
            return float(interval[name])
    elif interval is not None:
        return float(interval)
    # The forum's own schedule (``every`` or ``cron``) when it is a ForumConfig.
    if getattr(forum, "every", None) or getattr(forum, "cron", None):
        from crawler.config.schedule import forum_interval

        return forum_interval(forum, now)
    return DEFAULT_INTERVAL


def _human(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 86400:
        return f"{seconds // 86400}d {seconds % 86400 // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 60}m"


def monitoring_gaps(
    store: Any,
    forums: Iterable[Any],
    now: datetime | float | None = None,
    interval: float | Mapping[str, float] | None = None,
    intervals: int = GAP_INTERVALS,
) -> list[Alert]:
    """One ``high`` alert per forum with no successful run for ``intervals`` x its interval.

    ``forums``: ``ForumConfig`` objects or names (pass the enabled ones). ``interval``: seconds
    for every forum, or a mapping forum -> seconds; forums it does not cover use their own
    schedule (``every``, or the longest gap of their ``cron``), names alone one hour. A forum
    that never succeeded is measured from its first recorded attempt; a forum never attempted at
    all raises nothing (it was just added). The alert id is stable for one gap (it names the last
    success), so hourly checks re-detect the same alert instead of flooding, and a new gap after
    a recovery is a new alert.
    """
    if now is None:
        now_ts = datetime.now(UTC).timestamp()
    elif isinstance(now, datetime):
        now_ts = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    else:
        now_ts = float(now)
    history = _history_for(store)
    alerts = []
    for forum in forums:
        name = getattr(forum, "name", forum)
        every = _forum_interval(forum, interval, now_ts)
        info = history.get(name)
        if info is None:
            continue
        since = info["last_success"] or info["first_attempt"]
        if since is None:
            continue
        gap = now_ts - since
        if gap < intervals * every:
            continue
        urls = list(getattr(forum, "start_urls", None) or [])
        where = urls[0] if urls else f"darkwatch:monitoring/{name}"
        alerts.append(_gap_alert(name, where, info, since, gap, every, intervals, now_ts))
    return alerts


def _history_for(store: Any) -> dict[str, dict[str, Any]]:
    # A store may offer a direct per-forum query (one GROUP BY instead of reading history).
    fast = getattr(store, "run_history", None)
    if callable(fast):
        return fast()
    return run_history(store)


def _gap_alert(name: str, where: str, info: Mapping[str, Any], since: float, gap: float,
               every: float, intervals: int, now_ts: float) -> Alert:
    if info["last_success"]:
        what = f"last successful crawl {iso(since)} ({_human(gap)} ago)"
        episode = f"gap-since-{iso(since)}"
    else:
        what = f"never crawled successfully since the first attempt {iso(since)} ({_human(gap)} ago)"
        episode = f"gap-never-since-{iso(since)}"
    title = f"Monitoring gap: forum {name} not crawled successfully for {_human(gap)}"
    description = (
        f"Forum {name}: {what}; expected every {_human(every)}, alerting after {intervals} "
        f"intervals. {info['failed_since']} failed run(s) since. Leaks posted there meanwhile "
        f"are not seen: check the crawl report / logs (errors by kind) and the forum's address."
    )
    rule = {
        "id": GAP_RULE, "name": GAP_RULE, "title": title, "level": "high",
        "description": description, "author": "darkwatch", "tags": ["darkwatch.monitoring"],
        "references": [], "version": 1,
    }
    # thread_url: the forum's first board, so notification throttling (per rule and thread) is
    # per forum and the message points at what to check.
    return Alert(
        rule=rule, forum=name, thread_url=where, thread_title=f"forum {name} (monitoring)",
        post_id=episode, post_url=where,
        published=None, counts={"failed_runs": int(info["failed_since"]), "gap_seconds": int(gap)},
        masked=[], fingerprints=[], snippet=description, created=iso(now_ts),
    )



def blind_forum_alerts(results: Iterable[Any], store: Any | None = None,
                       now: float | None = None) -> list[Alert]:
    """One ``high`` alert per forum whose crawl read nothing it should have (``BLIND_KINDS``):
    raised on the first such crawl, not after the monitoring-gap delay, because no retry will
    fix a wrong preset, a login wall or a failed login.

    ``results``: the crawl's ``ForumResult`` objects. The alert id names the reasons and the
    forum's last successful crawl, so hourly failures re-detect one alert and a new failure
    after a recovery is a new alert.
    """
    now_ts = datetime.now(UTC).timestamp() if now is None else float(now)
    history = _history_for(store) if store is not None else {}
    alerts = []
    for res in results:
        kinds = sorted(k for k in getattr(res, "errors", {}) if k in BLIND_KINDS)
        if getattr(res, "status", "") != "failed" or not kinds:
            continue
        samples = [s["message"] for s in getattr(res, "error_samples", []) if s["kind"] in kinds]
        last = (history.get(res.forum) or {}).get("last_success")
        since = f"after-{iso(last)}" if last else "never-ok"
        title = f"Forum {res.forum} read nothing: {', '.join(kinds)}"
        description = (
            f"Forum {res.forum}: the crawl finished without reading what it should "
            f"({', '.join(f'{k} x{res.errors[k]}' for k in kinds)}); leaks posted there are not "
            f"seen until this is fixed. " + (f"First reason: {samples[0]}" if samples else "")
            + (f" Last successful crawl: {iso(last)}." if last else " No successful crawl yet.")
        )
        rule = {
            "id": BLIND_RULE, "name": BLIND_RULE, "title": title, "level": "high",
            "description": description, "author": "darkwatch", "tags": ["darkwatch.monitoring"],
            "references": [], "version": 1,
        }
        where = f"darkwatch:monitoring/{res.forum}"
        alerts.append(Alert(
            rule=rule, forum=res.forum, thread_url=where, thread_title=f"forum {res.forum} (monitoring)",
            post_id=f"{'+'.join(kinds)}-{since}", post_url=where, published=None,
            counts={k: int(res.errors[k]) for k in kinds}, masked=[], fingerprints=[],
            snippet=description[:1000], created=iso(now_ts),
        ))
    return alerts


def raise_blind_alerts(cfg: Any, results: Iterable[Any]) -> list[Alert]:
    """Store and send the ``darkwatch-forum-blind`` alerts of a finished crawl."""
    from crawler.crawl import open_notifier
    from crawler.sinks.sqlite import SqliteStore

    results = list(results)
    if not any(getattr(r, "status", "") == "failed" for r in results):
        return []
    store = SqliteStore(cfg.store.sqlite)
    try:
        alerts = blind_forum_alerts(results, store)
        if alerts:
            store.write_alerts(alerts)
    finally:
        store.close()
    if alerts:
        notifier = open_notifier(cfg)
        if notifier is not None:
            try:
                notifier.notify(alerts)
            finally:
                close = getattr(notifier, "close", None)
                if close is not None:
                    close()
    return alerts
