"""Small builders shared by the Elasticsearch tests."""

from __future__ import annotations

from crawler.model import Alert, Post


def make_post(i: int, forum: str = "bf-fr", month: int = 11, text: str | None = None,
              author: str = "vendeur") -> Post:
    return Post(
        forum=forum, thread_url=f"http://abc.onion/t/{i // 10}", thread_title=f"Base patients lot {i // 10}",
        post_id=str(i), author=author, published=f"2026-{month:02d}-{1 + i % 27:02d}T10:00:00Z",
        text=text if text is not None else f"post {i}: dump NIR 1 ** ** ** *** *** 42 labo",
        quoted_text="", url=f"http://abc.onion/p/{i}",
        matches=[{"pattern": "fr-nir", "masked": "1 ** ** ** *** *** 42", "fingerprint": f"fp{i}"}],
    )


def make_alert(i: int, level: str = "high", rule_id: str = "fr-nir", forum: str = "bf-fr",
               created: str = "2026-11-28T10:00:00Z") -> Alert:
    return Alert(
        rule={"id": rule_id, "name": rule_id, "title": "NIR dans un post", "level": level,
              "description": "French social security numbers", "author": ["darkwatch"],
              "tags": ["pii", "health"], "references": ["https://example.org/nir"], "version": "1"},
        forum=forum, thread_url=f"http://abc.onion/t/{i // 10}", thread_title=f"Base patients lot {i // 10}",
        post_id=str(i), post_url=f"http://abc.onion/p/{i}", published="2026-11-02T10:00:00Z",
        counts={"nir": 3}, masked=["1 ** ** ** *** *** 42"], fingerprints=[f"fp{i}"],
        snippet="dump NIR 1 ** ** ** *** *** 42", created=created,
    )
