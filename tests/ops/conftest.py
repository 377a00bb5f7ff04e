"""A real crawl for the ops tests: a two-thread forum served on loopback, crawled by the real CLI
(``darkwatch crawl --direct``), giving a real run report and a real SQLite ``runs`` table."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from tests.helpers import darkwatch, write_config

BOARD = """<html><body><table>
<tr class="thread"><td><a class="title" href="/t/1">Base patients labo</a></td><td class="last">p2</td></tr>
<tr class="thread"><td><a class="title" href="/t/2">Hello</a></td><td class="last">p3</td></tr>
</table></body></html>"""
THREAD = """<html><body><h1>{title}</h1>{posts}</body></html>"""
POST = ('<div class="msg" id="msg-{pid}"><span class="user">user{pid}</span>'
        '<time datetime="2026-01-0{pid}T10:00:00Z">x</time><div class="body">post number {pid}</div></div>')
PAGES = {
    "/board": BOARD,
    "/t/1": THREAD.format(title="Base patients labo", posts=POST.format(pid=1) + POST.format(pid=2)),
    "/t/2": THREAD.format(title="Hello", posts=POST.format(pid=3)),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = PAGES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def mini_forum():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def forum_entry(name: str, base: str) -> dict:
    return {
        "name": name, "engine": "custom", "start_urls": [f"{base}/board"], "delay": 0,
        "selectors": {
            "thread_row": "tr.thread", "thread_link": "a.title", "thread_marker": "td.last::text",
            "thread_title": "h1::text", "post": "div.msg", "post_id": "::attr(id)",
            "post_id_regex": "msg-(\\d+)", "author": ".user::text", "published": "time::attr(datetime)",
            "body": "div.body",
        },
    }


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
