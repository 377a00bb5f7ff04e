"""Is this response a "go away" from the forum? (pure; no Scrapy)."""

from __future__ import annotations

BLOCK_STATUSES = frozenset({403, 429, 503})

# Lower-case fragments of well-known DDoS-guard / queue / rate-limit pages on onion forums.
BLOCK_MARKERS = (
    "ddos-guard",
    "ddos protection",
    "checking your browser",
    "you are in the queue",
    "you are in queue",
    "waiting room",
    "rate limit exceeded",
    "too many requests",
    "endgame",  # the EndGame onion DDoS filter
    "access denied",
    "captcha",
)


def block_signal(status: int, body_head: str) -> str | None:
    """The reason this looks like a block, or None. ``body_head``: the first few KB."""
    head = body_head.lower()
    if status in BLOCK_STATUSES:
        return f"HTTP {status}"
    if status == 200 and len(head) < 20_000:
        for marker in BLOCK_MARKERS[:7]:  # strong markers only on 200 pages
            if marker in head:
                return f"block page ({marker!r})"
    return None
