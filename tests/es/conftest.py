"""A real Elasticsearch node for the tests in this folder, started once per session.

``DARKWATCH_ES_URL`` (+ ``DARKWATCH_ES_USERNAME``/``DARKWATCH_ES_PASSWORD``) pointing at a
running node makes the tests use it; otherwise ``deploy/dev/elasticsearch`` starts one on
port ``DARKWATCH_ES_TEST_PORT`` (default 9250) and stops it at the end. No skip: if no node
can be had, the tests fail and say why (tests/support/es.py).
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.es import es_node_session


@pytest.fixture(scope="session")
def es_node():
    yield from es_node_session()


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
