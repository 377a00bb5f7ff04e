"""What one post contributes to its thread's incident, taken from its alerts and matches.

Only masked values and keyed fingerprints are read: the incident never holds a clear number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from crawler.incidents.model import MAX_SAMPLES, level_rank
from crawler.model import Alert, Post

# Matches that name a lab, a lab network or lab software (the pack's lab/vendor rules).
LAB_RULES = frozenset({"fr-medical-lab", "fr-lab-software-vendor"})
LAB_PATTERNS = frozenset({"lab", "lab_ambiguous", "vendor", "vendor_ambiguous"})
NIR_PATTERN = "nir"  # the fr-nir detector's pattern name in every rule that uses it

# A size claim: "120k lignes", "512 000 patients", "1.2M records".
_CLAIM = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[  .,]\d{3})+|\d+(?:[.,]\d+)?)\s*([kKmM]|000)?\s*"
    r"(?:lignes|patients|entr[ée]es|enregistrements|dossiers|records|rows|lines)\b")


@dataclass(slots=True)
class Evidence:
    forum: str
    thread_url: str
    thread_title: str
    post_id: str
    post_url: str
    author: str
    published: str | None
    levels: dict[str, str]  # rule name -> level of its alert on this post
    alert_ids: list[str]
    fingerprints: list[str]  # NIR fingerprints of the post (distinct)
    samples: list[str]  # masked NIR samples, capped
    labs: list[str] = field(default_factory=list)
    claimed_size: int | None = None
    ignored: list[str] = field(default_factory=list)  # rules marked false-positive on arrival
    # rule -> the narrower rules *of its own level* it outranks (`supersedes`) that also fired
    # on this post, for rules marked `escalates: true`: such a rule escalates an incident that
    # had them, at the same level (a ransomware victim's countdown turning into "published");
    # other outranking (a lab named in a NIR dump thread) is not a new notice.
    outranks: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    @property
    def live_level(self) -> str | None:
        """The highest level of its rules not marked false-positive (None when all are)."""
        live = [lv for name, lv in self.levels.items() if name not in self.ignored]
        return max(live, key=level_rank) if live else None


def _fold(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(s.lower().split())


def canonical_lab(found: str) -> str:
    """A lab name as written, with case made consistent ("INOVIE", "inovie" -> "Inovie")."""
    s = " ".join(found.split())
    if s.islower() or s.isupper():
        s = " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))
    return s


def labs_named(matches: Sequence[dict[str, Any]]) -> list[str]:
    """Canonical lab/vendor names; a name inside a longer one ("Eurofins" in "Eurofins Biomnis")
    is the same mention and is dropped."""
    spans = [(m.get("field", ""), int(m.get("start", 0)), int(m.get("end", 0)), str(m.get("masked", "")))
             for m in matches
             if m.get("rule", {}).get("name") in LAB_RULES and m.get("pattern") in LAB_PATTERNS]
    spans.sort(key=lambda s: (s[0], s[1], -(s[2] - s[1])))
    out: dict[str, str] = {}
    last: tuple[str, int] = ("", -1)
    for fld, _start, end, text in spans:
        if fld == last[0] and end <= last[1]:
            continue  # contained in the previous, longer mention
        last = (fld, end)
        name = canonical_lab(text)
        out.setdefault(_fold(name), name)
    return list(out.values())


def claimed_size(text: str) -> int | None:
    best = None
    for m in _CLAIM.finditer(text or ""):
        num, unit = m.group(1), m.group(2)
        try:
            if unit in ("k", "K", "m", "M"):
                value = float(num.replace(",", ".").replace(" ", "").replace("\u00a0", ""))
                value *= 1000 if unit in ("k", "K") else 1_000_000
            else:
                value = float(re.sub(r"[  .,]", "", num)) * (1000 if unit == "000" else 1)
        except ValueError:
            continue
        if value >= 1 and (best is None or value > best):
            best = int(value)
    return best


def from_post(post: Post, alerts: Sequence[Alert]) -> Evidence | None:
    """The evidence of a post, or None when it raised no alert (nothing to attach)."""
    if not alerts:
        return None
    levels: dict[str, str] = {}
    for a in alerts:
        name = str(a.rule.get("name") or a.rule.get("id") or "?")
        if name not in levels or level_rank(a.level) > level_rank(levels[name]):
            levels[name] = a.level
    fps: list[str] = []
    samples: list[str] = []
    seen: set[str] = set()
    for m in post.matches:
        if m.get("pattern") != NIR_PATTERN or not m.get("fingerprint"):
            continue
        fp = m["fingerprint"]
        if fp in seen:
            continue
        seen.add(fp)
        fps.append(fp)
        if len(samples) < MAX_SAMPLES:
            samples.append(str(m.get("masked", "")))
    return Evidence(
        forum=post.forum, thread_url=post.thread_url, thread_title=post.thread_title,
        post_id=post.post_id, post_url=post.url, author=post.author, published=post.published,
        levels=levels, alert_ids=[a.id for a in alerts], fingerprints=fps, samples=samples,
        labs=labs_named(post.matches), claimed_size=claimed_size(post.text),
        outranks=_same_level_outranks(alerts, post.matches),
    )


def _same_level_outranks(alerts: Sequence[Alert], matches: Sequence[dict[str, Any]]
                         ) -> dict[str, list[str]]:
    level_of = {str(m.get("rule", {}).get("name")): str(m.get("rule", {}).get("level"))
                for m in matches}
    out: dict[str, list[str]] = {}
    for a in alerts:
        if not a.rule.get("escalates"):
            continue  # only rules that say so: outranking is otherwise not news
        same = [r for r in a.related_rules if level_of.get(r) == a.level]
        if same:
            out[str(a.rule.get("name") or a.rule.get("id") or "?")] = same
    return out
