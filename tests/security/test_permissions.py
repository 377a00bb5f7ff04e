"""File modes of what darkwatch writes: the evidence store, spool, notifier state, report,
metrics, and the lab's onion-service keys.

Crawls run in a child process under an explicit umask: 022 (the usual default) and 000 (the
worst case: only modes darkwatch sets itself protect the files).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crawler.netpolicy import free_ports
from crawler.sinks.spool import Spool, encode
from crawler.sinks.sqlite import SqliteStore
from tests.support.receiver import Receiver
from tests.support.secrets_env import Secrets, run_cli, start_forum, write_secret_config

pytestmark = [pytest.mark.integration]


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def private(p: Path) -> bool:
    """No access at all for group or others."""
    return mode(p) & 0o077 == 0


@pytest.fixture(scope="module", params=[0o022, 0o000], ids=["umask022", "umask000"])
def crawled(request, tmp_path_factory):
    sec = Secrets()
    forum = start_forum(sec.forum_password)
    data = tmp_path_factory.mktemp(f"perm{request.param:03o}")
    (es_port,) = free_ports(1)  # Elasticsearch down: documents go to the spool
    try:
        with Receiver() as hook:
            cfg = write_secret_config(data / "darkwatch.yml", forum, hook.port, es_port, faults=False)
            res = run_cli("crawl", "--config", str(cfg), "--direct", "-q",
                          "--report", str(data / "report.json"),
                          "--metrics-file", str(data / "metrics" / "darkwatch.prom"),
                          env=sec.env(), cwd=data, timeout=600, umask=request.param)
    finally:
        forum.stop()
    # 4: Elasticsearch is down on purpose, the documents stay in the spool (0 before exit
    # code 4 existed)
    assert res.returncode in (0, 4), res.stdout + res.stderr
    return request.param, data


def test_sqlite_store_and_its_wal_files_are_0600(crawled):
    _umask, data = crawled
    files = [data / n for n in ("darkwatch.db", "darkwatch.db-wal", "darkwatch.db-shm")]
    present = [f for f in files if f.exists()]
    assert data / "darkwatch.db" in present
    assert {f.name: oct(mode(f)) for f in present} == {f.name: "0o600" for f in present}


def test_notifier_state_is_private(crawled):
    _umask, data = crawled
    state = [p for p in data.iterdir() if p.name.startswith("darkwatch-alerts.db")]
    assert state, "the alert channel is configured: its throttle state must exist"
    assert {p.name: oct(mode(p)) for p in state if not private(p)} == {}


def test_spool_directory_and_files_are_private(crawled):
    _umask, data = crawled
    spool = data / "spool"
    files = [p for p in spool.rglob("*")]
    assert any(p.name.startswith("seg-") for p in files), "Elasticsearch down: nothing spooled?"
    bad = {str(p.relative_to(data)): oct(mode(p)) for p in [spool, *files] if not private(p)}
    assert bad == {}


def test_report_and_metrics_are_not_world_writable(crawled):
    """Whatever the umask (000 included): the report is the owner's, the metrics file is
    readable by node_exporter but writable by nobody else."""
    _umask, data = crawled
    assert mode(data / "report.json") == 0o600
    assert mode(data / "metrics" / "darkwatch.prom") == 0o644
    assert mode(data / "metrics") & 0o022 == 0


def test_lock_files_are_not_writable_by_others(crawled):
    _umask, data = crawled
    locks = data / ".darkwatch-locks"
    for p in [locks, *locks.rglob("*")] if locks.exists() else []:
        assert mode(p) & 0o002 == 0, f"{p}: {oct(mode(p))} (another user could block or fake a crawl)"


def test_an_existing_world_readable_store_is_tightened(tmp_path):
    """A store restored from a backup or created by the sqlite3 shell with 0644 holds clear
    NIRs (the evidence copy): opening it must make it 0600 again."""
    db = tmp_path / "darkwatch.db"
    db.touch()
    os.chmod(db, 0o644)
    SqliteStore(str(db)).close()
    assert oct(mode(db)) == "0o600"


def test_spool_rewrite_keeps_segments_private(tmp_path):
    """After a partial bulk failure the spool rewrites a segment (tmp file + rename)."""
    old = os.umask(0o022)
    try:
        spool = Spool(tmp_path / "spool")
        recs = [encode({"_op_type": "index", "_index": "darkwatch-posts", "_id": f"f:{i}"},
                       {"message": f"post {i}"}) for i in range(3)]
        spool.append(recs)
        spool.seal()
        (seg,) = spool.sealed_segments()
        spool.rewrite(seg, recs[1:])
    finally:
        os.umask(old)
    assert seg.exists() and oct(mode(seg)) == "0o600"
    assert private(tmp_path / "spool")


def test_lab_onion_keys_and_data_dirs_are_private(tor_lab):
    root = Path(tor_lab.lab.dir)
    assert private(root), oct(mode(root))
    nodes = root / "nodes"
    hs = nodes / "onion" / "hs"
    assert hs.is_dir() and (hs / "hs_ed25519_secret_key").exists()
    assert oct(mode(hs)) == "0o700"
    bad = {}
    for n in nodes.iterdir():
        if not private(n):
            bad[str(n.relative_to(root))] = oct(mode(n))
    for p in hs.rglob("*"):
        if p.is_file() and mode(p) & 0o077:
            bad[str(p.relative_to(root))] = oct(mode(p))
    for keys in nodes.glob("*/keys"):
        if not private(keys):
            bad[str(keys.relative_to(root))] = oct(mode(keys))
        for p in keys.iterdir():
            if ("secret" in p.name or p.name.endswith("_key")) and mode(p) & 0o077:
                bad[str(p.relative_to(root))] = oct(mode(p))
    assert bad == {}, bad
