"""A real Elasticsearch node for the tests (started by ``deploy/dev/elasticsearch``), and builders.

``DARKWATCH_ES_URL`` (+ ``DARKWATCH_ES_USERNAME``/``DARKWATCH_ES_PASSWORD``) pointing at a
running node makes the tests use it; otherwise ``deploy/dev/elasticsearch`` starts one on
port ``DARKWATCH_ES_TEST_PORT`` (default 9250) and stops it at the end. No skip: if no node
can be had, the tests fail and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.model import Alert, Post

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "dev" / "elasticsearch"


@dataclass
class Node:
    url: str
    username: str | None
    password: str | None
    port: int | None  # set when this session started the node (it can be killed/restarted)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                              timeout=300)

    def kill(self) -> None:
        assert self.port, "the node was not started by this session; cannot kill it"
        r = self.run("stop", "--port", str(self.port), "--kill")
        assert r.returncode == 0, r.stderr

    def start(self) -> None:
        assert self.port
        r = self.run("start", "--port", str(self.port))
        assert r.returncode == 0, f"Elasticsearch did not start:\n{r.stderr[-3000:]}"


def _parse_exports(out: str) -> dict[str, str]:
    env = {}
    for line in out.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            env[k] = v
    return env


def start_node(port: int, *extra: str) -> Node:
    """A fresh node on ``port`` started by ``deploy/dev/elasticsearch``; fails the test if it can't."""
    node = Node("", None, None, port)
    r = node.run("start", "--port", str(port), "--fresh", *extra)
    if r.returncode != 0:
        pytest.fail(f"could not start Elasticsearch with {SCRIPT}:\n{r.stderr[-3000:]}")
    env = _parse_exports(r.stdout)
    node.url, node.username, node.password = (env["DARKWATCH_ES_URL"], env.get("DARKWATCH_ES_USERNAME"),
                                              env.get("DARKWATCH_ES_PASSWORD"))
    return node


def es_node_session() -> Iterator[Node]:
    """The session's node: ``DARKWATCH_ES_URL``'s if set, else one started on
    ``DARKWATCH_ES_TEST_PORT`` (default 9250) and stopped when the generator closes."""
    url = os.environ.get("DARKWATCH_ES_URL")
    if url:
        yield Node(url, os.environ.get("DARKWATCH_ES_USERNAME"), os.environ.get("DARKWATCH_ES_PASSWORD"),
                   None)
        return
    node = start_node(int(os.environ.get("DARKWATCH_ES_TEST_PORT", "9250")))
    try:
        yield node
    finally:
        node.run("stop", "--port", str(node.port))


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
