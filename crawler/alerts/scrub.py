"""Last line of defence before text leaves for a channel.

Alerts carry masked values only, but a thread title, URL or a future field could still hold a
clear identifier: every message is passed through :func:`scrub` (NIR shapes and long digit runs
are masked) and untrusted crawled strings through :func:`clean` (control characters, mass
mentions, length).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# French NIR: sex, year, month, department (incl. Corsica 2A/2B), commune, order, key;
# separators as people type them. Not anchored on a validator: masking a look-alike is harmless.
_NIR = re.compile(
    r"(?<![0-9])[1-478][ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?(?:\d{2}|2[AaBb])[ .\-]?\d{3}[ .\-]?\d{3}"
    r"(?:[ .\-]?\d{2})?(?![0-9])"
)
# Any run of >= 11 digits (optionally split by single spaces, dots or dashes): card numbers,
# phone numbers with country codes, account numbers. Ordinary ids (post ids, years) are shorter.
LONG_RUN_DIGITS = 11
_DIGIT_RUN = re.compile(r"(?<![0-9])\d(?:[ .\-]?\d){" + str(LONG_RUN_DIGITS - 1) + r",}(?![0-9])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MENTION = re.compile(r"(?i)(<!(?:channel|here|everyone)[^>]*>|@(?:channel|here|everyone)\b)")


def _mask_digits(m: re.Match[str]) -> str:
    return re.sub(r"[0-9A-Ba-b]", "*", m.group(0))


def scrub(text: str) -> str:
    """Mask anything shaped like a NIR or a long digit run.

    NFKC first, so full-width or other Unicode digits cannot carry an identifier past the mask.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = "".join(str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c
                       for c in text)
    text = _NIR.sub(_mask_digits, text)
    return _DIGIT_RUN.sub(_mask_digits, text)


def clean(text: str | None, limit: int = 200) -> str:
    """A crawled string made safe to show: no control/bidi characters, no @channel, bounded length."""
    s = _CONTROL.sub(" ", text or "")
    s = re.sub(r"\s+", " ", s).strip()
    s = _MENTION.sub(lambda m: m.group(0).replace("@", "(at)").replace("<!", "<"), s)
    s = scrub(s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


_OWN_ID = re.compile(r"[0-9a-f]{8,64}")


def scrub_keeping(text: str, own_ids: Iterable[str]) -> str:
    """:func:`scrub`, except for darkwatch's own ids (hex digests of ours, never a leaked
    identifier): a 16-hex incident id with 11 digits in a row looked like a phone or card number
    and was masked, which left the analyst a notice that named no incident."""
    keep = sorted({i for i in own_ids if i and _OWN_ID.fullmatch(i)}, key=len, reverse=True)
    marks = {}
    for n, own in enumerate(keep):
        mark = "@@dwid" + "".join(chr(97 + int(d)) for d in str(n)) + "@@"  # no digit: untouched
        marks[mark] = own
        text = text.replace(own, mark)
    text = scrub(text)
    for mark, own in marks.items():
        text = text.replace(mark, own)
    return text
