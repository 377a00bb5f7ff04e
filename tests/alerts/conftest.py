"""Real loopback receivers for notification tests: an aiosmtpd SMTP server and an HTTP webhook."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crawler.model import Alert

NIR = "185057800608491"  # a valid NIR (key 91 checks out) that must never reach a channel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.cond = threading.Condition()

    def add(self, item: dict) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict]:
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.items) < n and time.monotonic() < end:
                self.cond.wait(end - time.monotonic())
            return list(self.items)


@pytest.fixture
def smtp_server():
    """aiosmtpd on 127.0.0.1: yields (port, inbox of {'from','to','raw','body'})."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    inbox = Inbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            msg = message_from_bytes(envelope.content, policy=policy.default)
            texts = [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
            html = [p.get_content() for p in msg.walk() if p.get_content_type() == "text/html"]
            inbox.add({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                       "subject": str(msg["subject"]), "raw": envelope.content.decode("utf-8", "replace"),
                       "body": "\n".join(texts), "html": "\n".join(html)})
            return "250 OK"

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port, inbox
    finally:
        ctl.stop()


@pytest.fixture
def webhook_server():
    """A stdlib HTTP server that records JSON POSTs: yields (port, inbox of {'path','json','raw'})."""
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8", "replace")
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
            inbox.add({"path": self.path, "json": doc, "raw": raw})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1], inbox
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def blackhole():
    """A TCP port that accepts connections (kernel backlog) and never answers: a hung channel."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def make_alert(post_id: str = "p1", thread: str = "t1", level: str = "high", rule_id: str = "nir-leak",
               forum: str = "bf-fr", created: str | None = None) -> Alert:
    kw = {"created": created} if created else {}
    return Alert(
        rule={"id": rule_id, "name": rule_id.replace("-", "_"), "title": f"Rule {rule_id}", "level": level},
        forum=forum,
        thread_url=f"http://forumxyz.onion/viewtopic.php?t={thread}",
        thread_title=f"Dump patients {thread} (NIR inside)",
        post_id=post_id,
        post_url=f"http://forumxyz.onion/viewtopic.php?p={post_id}",
        published="2026-11-28T10:00:00Z",
        counts={"nir": 3},
        masked=["1 85 05 ** *** *** 36", "2 90 ** ** *** *** **"],
        fingerprints=["hmac:abcd"],
        snippet="patient NIR 1 85 05 ** *** *** 36",
        **kw,
    )
