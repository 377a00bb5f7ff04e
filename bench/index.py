"""Indexing throughput: the darkwatch Elasticsearch sink vs raw ``helpers.bulk``, same docs, same node.

    python bench/index.py [--docs 50000] [--rounds 2] [--url URL --username U --password P]

Without ``--url`` (or DARKWATCH_ES_URL) it starts a node with deploy/dev/elasticsearch on
port 9252 and stops it afterwards. The sink pays for what makes it safe (write-ahead spool
with fsync, per-item result handling); the target is >= 90% of raw bulk throughput.
Both sides index the same ECS documents into the same monthly index layout with the same
templates, 500 docs per bulk request, into fresh indices each round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.config.store import ElasticsearchConfig  # noqa: E402
from crawler.model import Post  # noqa: E402
from crawler.sinks.elasticsearch import ElasticsearchSink  # noqa: E402
from crawler.sinks.es_client import make_client  # noqa: E402
from crawler.sinks.es_setup import install  # noqa: E402

SCRIPT = ROOT / "deploy" / "dev" / "elasticsearch"


def make_posts(n: int) -> list[Post]:
    body = ("Vends base patients labo d'analyses, extrait: NIR 1 ** ** ** *** *** 42, logiciel "
            "de laboratoire, 12000 lignes, contact en MP. ") * 4
    return [Post(forum="bench", thread_url=f"http://bench.onion/t/{i // 20}", thread_title=f"Lot {i // 20}",
                 post_id=str(i), author=f"user{i % 97}", published=f"2026-{1 + i % 12:02d}-15T10:00:00Z",
                 text=f"{i} {body}", quoted_text="", url=f"http://bench.onion/p/{i}",
                 matches=[{"pattern": "fr-nir", "masked": "1 ** ** ** *** *** 42",
                           "fingerprint": f"{i:064x}"}])
            for i in range(n)]


def run_raw(cfg: ElasticsearchConfig, posts: list[Post]) -> float:
    from elasticsearch import helpers

    client = make_client(cfg)
    actions = ElasticsearchSink(cfg).post_actions(posts)  # same docs, ids, indices
    t0 = time.perf_counter()
    ok, errors = helpers.bulk(client, actions, chunk_size=500, raise_on_error=False)
    dt = time.perf_counter() - t0
    assert ok == len(posts) and not errors, errors[:3]
    client.close()
    return len(posts) / dt


def run_sink(cfg: ElasticsearchConfig, posts: list[Post]) -> float:
    sink = ElasticsearchSink(cfg)
    sink.setup()  # both sides start with templates installed
    t0 = time.perf_counter()
    for i in range(0, len(posts), 500):  # the crawl hands posts in; the sink batches
        sink.write_posts(posts[i:i + 500])
    res = sink.flush()
    dt = time.perf_counter() - t0
    assert res.ok and sink.pending() == 0, res
    sink.close()
    return len(posts) / dt


def reset(cfg: ElasticsearchConfig) -> None:
    client = make_client(cfg)
    client.options(ignore_status=404).indices.delete(index=f"{cfg.index_prefix}-*")
    install(client, cfg)
    client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--url", default=os.environ.get("DARKWATCH_ES_URL"))
    ap.add_argument("--username", default=os.environ.get("DARKWATCH_ES_USERNAME"))
    ap.add_argument("--password", default=os.environ.get("DARKWATCH_ES_PASSWORD"))
    ap.add_argument("--port", type=int, default=9252, help="port for the node started here")
    a = ap.parse_args()
    started = False
    if not a.url:
        r = subprocess.run([sys.executable, str(SCRIPT), "start", "--port", str(a.port), "--fresh"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        env = dict(line[7:].split("=", 1) for line in r.stdout.splitlines() if line.startswith("export "))
        a.url, a.username, a.password = env["DARKWATCH_ES_URL"], env.get("DARKWATCH_ES_USERNAME"), \
            env.get("DARKWATCH_ES_PASSWORD")
        started = True
    spool = tempfile.mkdtemp(prefix="dw-bench-spool-")
    try:
        posts = make_posts(a.docs)
        base = dict(url=a.url, username=a.username, password=a.password, replicas=0,
                    spool_dir=spool, flush_interval=3600, batch_size=500)
        raw_cfg = ElasticsearchConfig(index_prefix="benchraw", **base)
        sink_cfg = ElasticsearchConfig(index_prefix="benchsink", **base)
        warm = posts[: min(5000, len(posts))]
        reset(raw_cfg)
        reset(sink_cfg)
        run_raw(raw_cfg, warm)
        run_sink(sink_cfg, warm)
        raws, sinks = [], []
        for _ in range(a.rounds):
            reset(raw_cfg)
            raws.append(run_raw(raw_cfg, posts))
            reset(sink_cfg)
            sinks.append(run_sink(sink_cfg, posts))
        raw, sink = max(raws), max(sinks)
        print(f"docs: {a.docs} x {a.rounds} rounds, node {a.url}")
        print(f"raw helpers.bulk : {raw:9.0f} docs/s  (rounds: {', '.join(f'{x:.0f}' for x in raws)})")
        print(f"darkwatch sink   : {sink:9.0f} docs/s  (rounds: {', '.join(f'{x:.0f}' for x in sinks)})")
        print(f"ratio            : {sink / raw:9.1%}  (target >= 90%)")
        for cfg in (raw_cfg, sink_cfg):
            c = make_client(cfg)
            c.options(ignore_status=404).indices.delete(index=f"{cfg.index_prefix}-*")
            c.close()
        return 0 if sink / raw >= 0.9 else 1
    finally:
        shutil.rmtree(spool, ignore_errors=True)
        if started:
            subprocess.run([sys.executable, str(SCRIPT), "stop", "--port", str(a.port)], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
