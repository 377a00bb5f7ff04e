"""Incident tests' builders: valid NIRs and leak texts, posts run through the shipped rules, and
the fixture forum's truth per thread (distinct valid NIRs, lab names the pack knows)."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from itertools import count

from crawler.incidents.evidence import LAB_PATTERNS, LAB_RULES
from crawler.model import Post
from crawler.rules.loader import load_rules
from crawler.rules.normalize import fold_keyword
from crawler.rules.post import PostRules
from darkwatch_lab import forum_text as ft
from tests.support.cli import REPO, darkwatch

KEY = b"test-key-0123456789abcdef"


def nirs(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct valid NIRs, as people type them (spaces, dots)."""
    rng = random.Random(seed)
    out: dict[str, str] = {}
    while len(out) < n:
        v = ft.make_nir(rng)
        out.setdefault(v, ft.format_nir(rng, v))
    return list(out.values())


def leak_text(lab: str, vendor: str, sample: list[str], lines: str = "120k") -> str:
    return (f"Vends fichier patients {lab} (Lyon), extraction depuis le SIL {vendor}. Champs : nom, "
            f"prénom, NIR, mutuelle, carte vitale. Format CSV, {lines} lignes. "
            f"Échantillon : {' ; '.join(sample)}")


class Maker:
    def __init__(self, rules: PostRules) -> None:
        self.rules = rules
        self.ids = count(1)

    def post(self, text: str, forum: str = "f1", thread: str = "http://127.0.0.1/t?1",
             title: str = "Discussion", author: str = "d4rkL4b", published: str | None = None,
             post_id: str | None = None) -> Post:
        pid = post_id or str(next(self.ids))
        p = Post(forum=forum, thread_url=thread, thread_title=title, post_id=pid, author=author,
                 published=published or f"2024-03-01T10:{int(pid) % 60:02d}:00Z", text=text,
                 quoted_text="", url=f"{thread}#p{pid}")
        p.alerts = self.rules.apply(p)
        return p


KEY_ENV = {"DARKWATCH_FINGERPRINT_KEY": "test-key-0123456789abcdef"}


def known_lab_names() -> set[str]:
    """Fixture lab/vendor names the shipped pack's lab rules know (folded)."""
    rules, _ = load_rules([str(REPO / "rules")])
    words = set()
    for lr in rules:
        if lr.rule.name in LAB_RULES:
            for name, p in lr.rule.detection.patterns.items():
                if name in LAB_PATTERNS:
                    words |= {fold_keyword(k, True, True) for k in p.keywords or ()}
    return {n for n in ft.LABS + ft.VENDORS if fold_keyword(n, True, True) in words}


def thread_truth(truth: list[dict]) -> dict[str, dict]:
    """Per thread URL: distinct valid NIRs and the lab names the pack knows, from the model."""
    known = known_lab_names()
    out: dict[str, dict] = defaultdict(lambda: {"nirs": set(), "labs": set(), "id": None})
    for p in truth:
        t = out[p["thread_url"]]
        t["id"] = p["thread_id"]
        for m in ft.NIR_LIKE.finditer(p["text"]):
            n = ft.normalise_nir(m.group(0))
            if n and ft.nir_valid(n):
                t["nirs"].add(n)
        for name in known:
            if any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", s)
                   for s in (p["text"], p["thread_title"])):
                t["labs"].add(name)
    return out


def jsonl(res) -> list[dict]:
    assert res.returncode == 0, res.stdout + res.stderr
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def incidents_of(cfg) -> list[dict]:
    return jsonl(darkwatch("incidents", "list", "-c", str(cfg), "--format", "jsonl",
                            "--limit", "10000"))


def crawl_direct(cfg) -> None:
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", env=KEY_ENV)
    assert res.returncode == 0, res.stdout + res.stderr
