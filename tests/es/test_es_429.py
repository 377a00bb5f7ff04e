"""429s from a real node with a one-slot write queue: refused documents are spooled, then sent."""

from __future__ import annotations

import os

import pytest

from crawler.sinks.elasticsearch import ElasticsearchSink
from tests.support.es import make_post, start_node

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_queue_node():
    node = start_node(int(os.environ.get("DARKWATCH_ES_429_PORT", "9251")),
                      "--write-queue", "1", "--heap", "256m")
    try:
        yield node
    finally:
        node.run("stop", "--port", str(node.port))


def test_429_refusals_are_spooled_then_replayed(tiny_queue_node, tmp_path):
    from crawler.config.store import ElasticsearchConfig
    from crawler.sinks.es_client import make_client

    n = 1200
    cfg = ElasticsearchConfig(url=tiny_queue_node.url, username=tiny_queue_node.username,
                              password=tiny_queue_node.password, index_prefix="q429",
                              spool_dir=str(tmp_path / "spool"), replicas=0, max_retries=0,
                              retry_interval=0, flush_interval=3600, batch_size=1200)
    client = make_client(cfg)
    sink = ElasticsearchSink(cfg)
    # 12 monthly indices: one bulk fans out to 12 shards, more than 1 thread + 1 queue slot.
    sink.write_posts([make_post(i, month=1 + i % 12) for i in range(n)])
    first = sink.flush()
    rejected = sum(int(node["thread_pool"]["write"]["rejected"])
                   for node in client.nodes.stats(metric="thread_pool")["nodes"].values())
    assert rejected > 0, "the node refused nothing: the test did not provoke 429"
    assert first.kept > 0 and first.dead == 0, first
    assert sink.pending() == first.kept
    # Later flushes (with the helper's own backoff retries) get everything through, once.
    sink.cfg = cfg.model_copy(update={"max_retries": 1})
    for _ in range(30):
        if sink.flush().ok:
            break
    assert sink.pending() == 0
    client.indices.refresh(index="q429-posts-*")
    assert client.count(index="q429-posts-*")["count"] == n
    sink.close()
    client.close()
