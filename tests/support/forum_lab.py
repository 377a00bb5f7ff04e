"""The fixture forum as the crawl tests see it: configs for a skin, its truth, the pages fetched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from darkwatch_lab.forum import FixtureForum

ENGINE = {"phpbb": "phpbb", "phpbb-fr": "phpbb", "mybb": "mybb", "smf": "smf"}
BOARD_MARK = ("viewforum.php", "forumdisplay.php", "?board=")
THREAD_MARK = ("viewtopic.php", "showthread.php", "?topic=")


@dataclass
class Lab:
    server: FixtureForum

    @property
    def base(self) -> str:
        return self.server.base_url

    def forum_config(self, skin: str, name: str | None = None, private: bool = False,
                     **extra) -> dict:
        boards = self.server.board_ids(private=private)
        return {
            "name": name or skin.replace("-", "_"),
            "engine": ENGINE[skin],
            "start_urls": [self.base + self.server.board_page_path(skin, b) for b in boards],
            "delay": 0,
            # The zone each skin displays human dates in (SMF's fixture shows UTC).
            "timezone": "UTC" if skin == "smf" else "Europe/Paris",
            "timeout": 20,
            **extra,
        }

    def public_truth(self, skin: str) -> list[dict]:
        return self.server.truth(engine=skin, private=False)

    def fetched_pages(self, skin: str) -> dict[str, list[str]]:
        prefix = f"/{skin}/"
        paths = [p for _m, p in self.server.requests if p.startswith(prefix)]
        return {
            "board": [p for p in paths if any(m in p for m in BOARD_MARK)],
            "thread": [p for p in paths if any(m in p for m in THREAD_MARK)],
        }

    def multi_page_threads(self, skin: str) -> list[int]:
        seen, out = set(), []
        for t in self.public_truth(skin):
            tid = t["thread_id"]
            if tid not in seen and self.server.thread_pages(skin, tid) > 1:
                seen.add(tid)
                out.append(tid)
        return out


@contextmanager
def running_forum(*skins: str, seed: int = 1, **options: object) -> Iterator[Lab]:
    """The fixture forum on a free loopback port, stopped afterwards: the one way tests start it.

    ``skins`` defaults to the forum's own default set; ``options`` go to ``FixtureForum``.
    """
    if skins:
        options["skins"] = skins
    with FixtureForum(seed=seed, **options) as server:  # type: ignore[arg-type]
        yield Lab(server)


# A custom config for the lab's "Acme Board" engine (no preset covers it).
ACME_SELECTORS = {
    "thread_row": "div.topic-row",
    "thread_link": "a.topic-link",
    "thread_marker": "div.topic-last a::attr(href)",
    "board_next": "a.pager-next::attr(href)",
    "thread_title": "h1.topic-heading",
    "post": "article.entry",
    "post_id": "::attr(id)",
    "post_id_regex": r"p(\d+)",
    "author": "a.author-name::text",
    "published": ".entry-meta time::attr(datetime)",
    "body": "div.entry-content",
    "quote": "blockquote.entry-quote",
    "exclude": ".quote-head",
    "thread_next": "a.pager-next::attr(href)",
}
