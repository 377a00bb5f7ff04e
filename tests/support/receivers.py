"""Real loopback receivers for notification tests: an aiosmtpd SMTP server and an HTTP webhook.

Context managers, so conftest.py files expose them as fixtures of whatever scope they need.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, Inbox]]:
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


@contextmanager
def webhook_receiver() -> Iterator[tuple[int, Inbox]]:
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
