"""Redis key names, in one place so the coordinator, workers and tests agree on them."""

from __future__ import annotations

PREFIX = "darkwatch"
HEARTBEAT_TTL = 10  # seconds without a heartbeat before a worker counts as dead


def forum_key(forum: str, what: str) -> str:
    return f"{PREFIX}:{forum}:{what}"


def queue(forum: str) -> str:
    return forum_key(forum, "requests")


def dupefilter(forum: str) -> str:
    return forum_key(forum, "dupefilter")


def inflight(forum: str) -> str:
    """Hash ``<worker>|<n>`` -> encoded request: popped, not finished yet."""
    return forum_key(forum, "inflight")


def pushed(forum: str) -> str:
    """Hash push id -> 1 queued / 0 duplicate, this round: a push resent after a lost reply is
    answered from here and does nothing."""
    return forum_key(forum, "pushed")


def seen(forum: str) -> str:
    return forum_key(forum, "seen")


def pages(forum: str) -> str:
    return forum_key(forum, "pages")


def stats(forum: str) -> str:
    return forum_key(forum, "stats")


def stats_applied(forum: str) -> str:
    """Hash writer id -> last stats batch applied (see crawler.distributed.stats)."""
    return forum_key(forum, "stats-applied")


def errors(forum: str) -> str:
    return forum_key(forum, "error-samples")


def rate(forum: str) -> str:
    return forum_key(forum, "next-slot")


def lock(forum: str) -> str:
    return forum_key(forum, "lock")


def job(forum: str) -> str:
    """Set while a coordinator runs a round of this forum (its value: the round id)."""
    return forum_key(forum, "job")


def tokens() -> str:
    return f"{PREFIX}:tokens"


def worker(worker_id: str) -> str:
    return f"{PREFIX}:worker:{worker_id}"


def job_keys(forum: str) -> list[str]:
    """Per-round state cleared by the coordinator before it seeds a new round."""
    return [queue(forum), dupefilter(forum), pushed(forum), seen(forum), pages(forum),
            stats(forum), stats_applied(forum), errors(forum)]
