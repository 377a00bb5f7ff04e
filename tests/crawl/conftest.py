"""The crawl tests' fixture forum (four skins) and the skin parameter."""

from __future__ import annotations

import pytest

from darkwatch_lab.forum import FixtureForum
from tests.support.forum_lab import Lab


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
