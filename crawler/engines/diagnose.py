"""Why a page that should hold posts or threads holds none (pure; no Scrapy).

An empty page is never a quiet success: the crawl reports a readable reason, so a forum that
starts answering with a queue page or a JavaScript shell shows up as failing, not as "no
new posts".
"""

from __future__ import annotations

import re

from crawler.engines.blocks import block_signal

MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"), (b"\x1f\x8b", "gzip data"),
    (b"RIFF", "a RIFF (WebP/AVI) file"), (b"\x7fELF", "an executable"), (b"MZ", "an executable"),
)
_SCRIPT = re.compile(r"<script\b", re.I)
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.I | re.S)
JS_ONLY_MAX_TEXT = 200  # visible characters below which a scripted page counts as a JS shell
# A forum page has a few thousand tags; a parsed tag costs lxml a few hundred bytes. Above this
# a page is refused before parsing, so one hostile page cannot take the crawl's memory.
MAX_TAGS = 100_000


def binary_kind(body: bytes) -> str | None:
    """What binary data this is, when a page declared as HTML is not text at all."""
    head = body[:1024]
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    if b"\x00" in head:
        return "binary data (NUL bytes)"
    return None


def visible_text_length(html: str) -> int:
    return len(" ".join(_TAGS.sub(" ", html[:200_000]).split()))


def empty_page_reason(status: int, body: bytes, text: str) -> tuple[str, str] | None:
    """(kind, reason) for a page without the expected content, or None when nothing is known."""
    what = binary_kind(body)
    if what:
        return ("binary-body", f"served as HTML but the body is {what}; not parsed")
    blocked = block_signal(status, text[:20_000])
    if blocked:
        return ("anti-bot", f"{blocked}: the forum is queueing or rate-limiting us "
                            "(lower the rate, or add the forum's session cookies)")
    if _SCRIPT.search(text[:200_000]) and visible_text_length(text) < JS_ONLY_MAX_TEXT:
        return ("js-only", "the page's content is built by JavaScript, which darkwatch never "
                           "runs; this forum needs a different source (API, cookies) or engine")
    return None


def too_complex(text: str) -> tuple[str, str] | None:
    """(kind, reason) when a page has too many tags to parse within the memory budget."""
    n = text.count("<")
    if n > MAX_TAGS:
        return ("too-complex", f"{n:,} tags (limit {MAX_TAGS:,}): not parsed, to bound memory")
    return None
