"""Is this response a "go away" from the forum? Page classification beside the other page
parsers (pure; no Scrapy); the Tor middleware and `forums test` both ask it."""

from __future__ import annotations

BLOCK_STATUSES = frozenset({403, 429, 503})

# Lower-case fragments of well-known DDoS-guard / queue / rate-limit pages on onion forums. Each
# names the guard itself: words that also occur in ordinary posts ("captcha", "access denied",
# "endgame") are not markers (a post about a captcha is not a block); a guard page that says
# only those is still caught by its status (403/429/503) or, when it replaces a board, by the
# crawl's no-threads check.
BLOCK_MARKERS = (
    "ddos-guard",
    "ddos protection",
    "checking your browser",
    "you are in the queue",
    "you are in queue",
    "waiting room",
    "rate limit exceeded",
    "too many requests",
)
BLOCK_PAGE_MAX = 20_000  # characters: forum pages are larger than a guard's interstitial


def block_signal(status: int, body_head: str) -> str | None:
    """The reason this looks like a block, or None. ``body_head``: the first few KB."""
    head = body_head.lower()
    if status in BLOCK_STATUSES:
        return f"HTTP {status}"
    if status == 200 and len(head) < BLOCK_PAGE_MAX:
        for marker in BLOCK_MARKERS:
            if marker in head:
                return f"block page ({marker!r})"
    return None
