from __future__ import annotations

from dataclasses import dataclass

import pytest

from crawler.lab.forum import FixtureForum

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


@pytest.fixture
def forum():
    server = FixtureForum(seed=1, skins=("phpbb", "phpbb-fr", "mybb", "smf"))
    server.start()
    try:
        yield Lab(server)
    finally:
        server.stop()


@pytest.fixture(params=["phpbb", "mybb", "phpbb-fr", "smf"])
def skin(request):
    return request.param
