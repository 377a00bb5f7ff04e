"""Masking: what an alert may show of an identifier, and snippets with identifiers hidden."""

from __future__ import annotations

import re

# Defence in depth for snippets: any run of 9+ digits (NIR, phone, card, account) is hidden even
# when no rule matched it.
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d){8,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def mask_generic(value: str) -> str:
    """Keep the first two and last two alphanumerics; star the rest (separators kept)."""
    idx = [i for i, c in enumerate(value) if c.isalnum()]
    keep = set(idx[:2] + idx[-2:]) if len(idx) > 6 else set()
    return "".join(c if (i in keep or not c.isalnum()) else "*" for i, c in enumerate(value))


def snippet(text: str, start: int, end: int, masks: list[tuple[int, int, str]],
            radius: int = 80) -> str:
    """``text`` around ``[start, end)`` with every masked span replaced by its mask.

    ``masks`` are (start, end, masked) in ``text`` offsets, any order, may overlap the window edges.
    """
    lo, hi = max(0, start - radius), min(len(text), end + radius)
    spans = sorted((s, e, m) for s, e, m in masks if e > lo and s < hi)
    out, pos = [], lo
    for s, e, m in spans:
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(m)
        pos = e
    out.append(text[pos:hi])
    body = _CONTROL.sub(" ", "".join(out))
    body = _DIGIT_RUN.sub(lambda mo: re.sub(r"\d", "*", mo.group(0)), body)
    body = " ".join(body.split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def mask_spans(text: str, masks: list[tuple[int, int, str]]) -> str:
    """The whole ``text`` with every masked span replaced: what leaves the machine by default."""
    out, pos = [], 0
    for s, e, m in sorted(masks):
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(m)
        pos = e
    out.append(text[pos:])
    return "".join(out)
