"""Posts run through the shipped rules (real matches, alerts and fingerprints), a store, and the
fixture forum (phpBB and MyBB skins) for the incident crawls."""

from __future__ import annotations

import pytest

from crawler.config.rules import RulesConfig
from crawler.rules.post import PostRules
from crawler.sinks.sqlite import SqliteStore
from tests.support.cli import REPO
from tests.support.forum_lab import running_forum
from tests.support.incidents import KEY, Maker


@pytest.fixture(scope="session")
def maker() -> Maker:
    return Maker(PostRules(RulesConfig(paths=[str(REPO / "rules")]), KEY))


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(str(tmp_path / "darkwatch.db"))
    yield s
    s.close()


@pytest.fixture
def lab():
    with running_forum("phpbb", "mybb") as forum:
        yield forum
