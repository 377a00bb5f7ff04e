"""Posts run through the shipped rules (real matches, alerts and fingerprints), and a store."""

from __future__ import annotations

import random
from itertools import count

import pytest

from crawler.config.rules import RulesConfig
from crawler.lab import forum_text as ft
from crawler.model import Post
from crawler.rules.post import PostRules
from crawler.sinks.sqlite import SqliteStore
from tests.helpers import REPO

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


@pytest.fixture(scope="session")
def maker() -> Maker:
    return Maker(PostRules(RulesConfig(paths=[str(REPO / "rules")]), KEY))


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(str(tmp_path / "darkwatch.db"))
    yield s
    s.close()
