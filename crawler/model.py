"""Records that flow between the crawl, the rules and the sinks.

Plain dataclasses so pure code (rules, sinks, CLI) never needs Scrapy; Scrapy
accepts dataclass items through itemadapter.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

POST_FIELDS = (
    "forum",
    "thread_url",
    "thread_title",
    "post_id",
    "author",
    "published",
    "text",
    "quoted_text",
    "url",
    "crawled_at",
    "content_sha256",
    "edited",
)


def utcnow_iso() -> str:
    """ISO 8601 UTC with a ``Z`` suffix, second precision: the one timestamp form we emit."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def content_hash(*parts: str | None) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(slots=True)
class Post:
    forum: str
    thread_url: str
    thread_title: str
    post_id: str
    author: str
    published: str | None  # ISO 8601 UTC, None when the page gave no parseable date
    text: str
    quoted_text: str
    url: str
    crawled_at: str = field(default_factory=utcnow_iso)
    content_sha256: str = ""
    edited: bool = False
    # The page gave only a day for this post: ``published`` is that day's midnight.
    date_without_time: bool = False
    # Filled by the rules pipeline: list of match dicts (masked, never clear values).
    matches: list[dict[str, Any]] = field(default_factory=list)
    # Alerts the rules raised on this post, on their way to the store; never exported.
    alerts: list[Alert] = field(default_factory=list, repr=False, compare=False)
    # Post attribute -> its text with identifiers masked (set by the rules); what remote
    # sinks receive instead of the clear text.
    masked: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.content_sha256:
            self.content_sha256 = content_hash(self.author, self.text, self.quoted_text)

    @property
    def key(self) -> tuple[str, str]:
        return (self.forum, self.post_id)

    def masked_copy(self) -> Post:
        """This post with identifiers masked: rule masks first, then any NIR/long-digit shape."""
        from dataclasses import replace

        from crawler.privacy import scrub

        values = {k: scrub(self.masked.get(k, getattr(self, k)) or "")
                  for k in ("thread_title", "author", "text", "quoted_text", "url", "thread_url")}
        return replace(self, **values, alerts=[], masked={})

    def __repr__(self) -> str:
        # Scrapy logs items (dropped, failed, scraped): never their crawled text.
        return f"Post({self.forum}:{self.post_id})"

    def to_dict(self) -> dict[str, Any]:
        """The export/jsonl shape: the item fields, in contract order."""
        out: dict[str, Any] = {k: getattr(self, k) for k in POST_FIELDS}
        if self.matches:
            out["matches"] = [dict(m) for m in self.matches]
        return out


@dataclass(slots=True)
class Alert:
    """One rule firing on one post. ``id`` is deterministic so replays never duplicate."""

    rule: dict[str, Any]  # id, name, title, level, description, author, tags, references, version
    forum: str
    thread_url: str
    thread_title: str
    post_id: str
    post_url: str
    published: str | None
    counts: dict[str, int]  # pattern name -> number of (validated) hits
    masked: list[str]  # masked samples, never clear values
    fingerprints: list[str]  # keyed HMAC fingerprints of the matched values
    snippet: str  # context with identifiers masked
    related_rules: list[str] = field(default_factory=list)  # outranked rules that also fired
    created: str = field(default_factory=utcnow_iso)
    status: str = "open"  # open | ack | closed | false_positive
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = alert_id(str(self.rule.get("id", "")), self.forum, self.post_id)

    @property
    def level(self) -> str:
        return str(self.rule.get("level", "informational"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def alert_id(rule_id: str, forum: str, post_id: str) -> str:
    return hashlib.sha256(f"{rule_id}\x00{forum}\x00{post_id}".encode()).hexdigest()[:32]
