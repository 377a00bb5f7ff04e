"""A real Elasticsearch node for the tests in this folder, started once per session.

``DARKWATCH_ES_URL`` (+ ``DARKWATCH_ES_USERNAME``/``DARKWATCH_ES_PASSWORD``) pointing at a
running node makes the tests use it; otherwise ``deploy/dev/elasticsearch`` starts one on
port ``DARKWATCH_ES_TEST_PORT`` (default 9250) and stops it at the end. No skip: if no node
can be had, the tests fail and say why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "dev" / "elasticsearch"


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


@pytest.fixture(scope="session")
def es_node():
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


@pytest.fixture
def es_cfg(es_node, tmp_path):
    """A config with a unique index prefix per test, so tests never see each other's documents."""
    from crawler.config.store import ElasticsearchConfig

    return ElasticsearchConfig(
        url=es_node.url, username=es_node.username, password=es_node.password,
        index_prefix=f"t{uuid.uuid4().hex[:10]}", spool_dir=str(tmp_path / "spool"),
        replicas=0, flush_interval=3600, retry_interval=0, request_timeout=10,
    )


@pytest.fixture
def es_client(es_cfg):
    from crawler.sinks.es_client import make_client

    c = make_client(es_cfg)
    yield c
    c.options(ignore_status=404).indices.delete(index=f"{es_cfg.index_prefix}-*", expand_wildcards="all")
    for kind in ("posts", "alerts", "incidents", "raw"):
        c.options(ignore_status=404).indices.delete_index_template(name=f"{es_cfg.index_prefix}-{kind}")
    c.close()
