"""Identifiers (NIR, phone, card, account numbers) hidden from any text that leaves the machine.

One definition of "looks like an identifier" for everything darkwatch shows or sends: alert and
incident notices, exports and remote-sink copies of posts, rule snippets, JSON logs. Masking a
look-alike is harmless; showing a real identifier is not, so the shapes err on the wide side.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Why 9 and not 11: 9 digits is the shortest personal number we must never print (a French
# phone without its trunk 0 as in +33 6 12 34 56 78, a US SSN); 11 let 10-digit phone numbers
# through alerts, logs and remote sinks while snippets hid them. Years, post ids and
# ``2026-11-28T23:13Z`` stay shorter; hex ids keep theirs (:data:`HEX_DIGEST`, :func:`scrub_keeping`).
MIN_DIGIT_RUN = 9
# A digit run: MIN_DIGIT_RUN+ digits, each optionally split by one space, dot or dash, as typed.
DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){" + str(MIN_DIGIT_RUN - 1) + r",}(?!\d)")
# French NIR (sex, year, month, department incl. Corsica 2A/2B, commune, order, key): its own
# shape because a Corsican NIR's letters split it into runs shorter than MIN_DIGIT_RUN.
NIR = re.compile(
    r"(?<![0-9])[1-478][ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?(?:\d{2}|2[AaBb])[ .\-]?\d{3}[ .\-]?\d{3}"
    r"(?:[ .\-]?\d{2})?(?![0-9])"
)
# Control, C1 and bidi/zero-width characters: they can hide or reorder text in a channel or a
# terminal, so crawled strings lose them before they are shown.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Mass mentions in chat channels: a crawled title must not page a whole Slack/Discord/Teams.
MENTION = re.compile(r"(?i)(<!(?:channel|here|everyone)[^>]*>|@(?:channel|here|everyone)\b)")
# darkwatch's own ids are lowercase hex digests (alert and incident ids, fingerprints).
OWN_ID = re.compile(r"[0-9a-f]{8,64}")
# A whole lowercase hex token of 16-64 characters with a letter in it is a digest (our 16/32-hex
# ids, a file hash), not a number someone typed: its digit runs are left alone. An all-digit
# token is still masked; :func:`scrub_keeping` keeps such an id where the caller names it.
HEX_DIGEST = re.compile(r"(?<![0-9A-Za-z])(?=[0-9]*[a-f])[0-9a-f]{16,64}(?![0-9A-Za-z])")
_NOT_SEPARATOR = re.compile(r"[^ .\-]")  # what a mask stars: digits and a NIR's A/B


def _star(m: re.Match[str]) -> str:
    return _NOT_SEPARATOR.sub("*", m.group(0))  # digits (and a NIR's A/B) starred, separators kept


def mask_identifiers(text: str) -> str:
    """``text`` with every NIR shape and digit run starred, separators kept, nothing else changed
    (hex digests kept whole, see :data:`HEX_DIGEST`)."""
    out, pos = [], 0
    for m in HEX_DIGEST.finditer(text):
        out.append(DIGIT_RUN.sub(_star, NIR.sub(_star, text[pos:m.start()])))
        out.append(m.group(0))
        pos = m.end()
    out.append(DIGIT_RUN.sub(_star, NIR.sub(_star, text[pos:])))
    return "".join(out)


def scrub(text: str) -> str:
    """:func:`mask_identifiers` after NFKC, so full-width or other Unicode digits cannot carry
    an identifier past the mask."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = "".join(str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c
                       for c in text)
    return mask_identifiers(text)


def scrub_keeping(text: str, own_ids: Iterable[str]) -> str:
    """:func:`scrub`, except for darkwatch's own ids (hex digests of ours, never a leaked
    identifier): a hex incident id with a long digit run looked like a phone or card number and
    was masked, which left the analyst a notice that named no incident."""
    keep = sorted({i for i in own_ids if i and OWN_ID.fullmatch(i)}, key=len, reverse=True)
    marks = {}
    for n, own in enumerate(keep):
        mark = "@@dwid" + "".join(chr(97 + int(d)) for d in str(n)) + "@@"  # no digit: untouched
        marks[mark] = own
        text = text.replace(own, mark)
    text = scrub(text)
    for mark, own in marks.items():
        text = text.replace(mark, own)
    return text


def clean(text: str | None, limit: int = 200) -> str:
    """A crawled string made safe to show: no control/bidi characters, no @channel, no
    identifier, bounded length."""
    s = CONTROL.sub(" ", text or "")
    s = re.sub(r"\s+", " ", s).strip()
    s = MENTION.sub(lambda m: m.group(0).replace("@", "(at)").replace("<!", "<"), s)
    s = scrub(s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def mask_generic(value: str) -> str:
    """What an alert may show of a matched value: the first two and last two alphanumerics,
    the rest starred (separators kept); values of 6 alphanumerics or fewer fully starred."""
    idx = [i for i, c in enumerate(value) if c.isalnum()]
    keep = set(idx[:2] + idx[-2:]) if len(idx) > 6 else set()
    return "".join(c if (i in keep or not c.isalnum()) else "*" for i, c in enumerate(value))


def mask_spans(text: str, masks: list[tuple[int, int, str]]) -> str:
    """The whole ``text`` with every masked span replaced: what leaves the machine by default.

    ``masks`` are (start, end, masked) in ``text`` offsets, any order; overlaps keep the first.
    """
    out, pos = [], 0
    for s, e, m in sorted(masks):
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(m)
        pos = e
    out.append(text[pos:])
    return "".join(out)


def snippet(text: str, start: int, end: int, masks: list[tuple[int, int, str]],
            radius: int = 80) -> str:
    """``text`` around ``[start, end)`` with every masked span replaced by its mask, and any
    identifier no rule matched hidden too (defence in depth).

    ``masks`` are (start, end, masked) in ``text`` offsets, any order, may overlap the window edges.
    The excerpt is not NFKC-normalised (it quotes the post); ``\\d`` already covers Unicode digits.
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
    body = mask_identifiers(CONTROL.sub(" ", "".join(out)))
    body = " ".join(body.split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")
