"""A real crawl for the ops tests: a two-thread forum served on loopback, crawled by the real CLI
(``darkwatch crawl --direct``), giving a real run report and a real SQLite ``runs`` table."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from tests.support.cli import darkwatch, write_config
from tests.support.mini_forum import PagesHandler, forum_entry


@pytest.fixture(scope="session")
def mini_forum():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PagesHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def real_crawl(mini_forum, tmp_path_factory) -> dict:
    """Two forums: ``mini`` (crawls ok) and ``dead`` (its board answers 404: the run fails)."""
    tmp: Path = tmp_path_factory.mktemp("crawl")
    dead = {**forum_entry("dead", mini_forum), "start_urls": [f"{mini_forum}/gone"]}
    cfg = write_config(tmp / "darkwatch.yml", [forum_entry("mini", mini_forum), dead])
    report = tmp / "report.json"
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", "--report", str(report), timeout=240)
    assert res.returncode == 1, res.stdout + res.stderr  # partial: 'dead' failed
    return {"config": cfg, "db": tmp / "darkwatch.db", "report": json.loads(report.read_text()),
            "stdout": res.stdout}
