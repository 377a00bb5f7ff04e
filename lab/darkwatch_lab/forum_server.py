"""HTTP side of the fixture forum: stdlib ThreadingHTTPServer, request log, admin API.

Stdlib on purpose: no dependency, a real socket server (tests talk real HTTP), and a
thread per connection so a slow or huge response does not block other requests.
The admin JSON API (``/__admin/...``) answers loopback clients only and is never
recorded in the request log, so request-count assertions only see crawler traffic.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from darkwatch_lab.forum_http import Request, Response

if TYPE_CHECKING:
    from darkwatch_lab.forum import FixtureForum

MAX_FORM = 1 << 20


def ensure_loopback(host: str) -> None:
    """Refuse to serve beyond this machine: the fixture is hostile-ish test content."""
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"fixture forum: {host!r} is not an IP address; bind to 127.0.0.1 or ::1") from None
    if not ip.is_loopback:
        raise ValueError(f"fixture forum: refusing to bind to non-loopback address {host}; "
                         "use 127.0.0.1 or ::1")


class LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr: tuple[str, int], forum: FixtureForum) -> None:
        self.forum = forum
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - stdlib signature
        """A crawler hanging up on a bomb, drip or endless page is expected; anything else is not."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def get_request(self):  # noqa: ANN201 - stdlib signature
        conn = super().get_request()
        self.forum._count_connection()
        return conn


class Handler(BaseHTTPRequestHandler):
    server: LabHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        forum = self.server.forum
        parts = urlsplit(self.path)
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(min(length, MAX_FORM))
        if parts.path.startswith("/__admin/"):
            self._send(self._admin(method, parts.path[len("/__admin/"):], parts.query, body))
            return
        forum._log(method, self.path)
        cookies: dict[str, str] = {}
        try:
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            cookies = {k: m.value for k, m in jar.items()}
        except CookieError:
            pass
        form = {}
        if method == "POST" and "urlencoded" in self.headers.get("Content-Type", ""):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            resp = forum._route(Request(method, parts.path, query, cookies, form,
                                        host=self.headers.get("Host", "")))
        except Exception as exc:  # a bug in the fixture must show up as a 500, not a hang
            resp = Response.html(f"<h1>fixture error</h1><pre>{type(exc).__name__}: {exc}</pre>", 500)
        self._send(resp, head=method == "HEAD")

    def _send(self, resp: Response, head: bool = False) -> None:
        if resp.delay:
            time.sleep(resp.delay)
        body = resp.body
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers:
            self.send_header(k, v)
        try:
            if isinstance(body, bytes):
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)
            elif resp.length is None:  # chunked, possibly without end (hostile-page corpus)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if not head:
                    for chunk in body:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(resp.length))
                self.end_headers()
                if not head:
                    for chunk in body:
                        self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    # ------------------------------------------------------------------ admin
    def _admin(self, method: str, name: str, query: str, body: bytes) -> Response:
        forum = self.server.forum
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        local = ipaddress.ip_address(self.client_address[0].split("%")[0]).is_loopback
        # An onion service also connects from loopback: refuse admin calls addressed to an onion.
        if not forum.admin or not local or host.endswith(".onion"):
            return _json({"error": "not found"}, 404)
        try:
            data = json.loads(body or b"{}")
            q = dict(parse_qsl(query))
            if method == "GET" and name == "truth":
                return _json(forum.truth(engine=q.get("engine"),
                                         private=q.get("private", "1") not in ("0", "false")))
            if method == "GET" and name == "requests":
                return _json([list(r) for r in forum.requests])
            if method == "GET" and name == "stats":
                return _json({"connections": forum.connections, "requests": len(forum.requests),
                              "logins": forum.sessions.logins})
            if method == "GET" and name == "valid-nirs":
                return _json(forum.valid_nirs())
            if method == "POST" and name == "posts":
                pid = forum.add_post(int(data["thread_id"]), str(data["author"]), str(data["text"]),
                                     quote_of=data.get("quote_of"))
                return _json({"post_id": str(pid)}, 201)
            if method == "POST" and name == "threads":
                tid = forum.add_thread(int(data["board_id"]), str(data["title"]), str(data["author"]),
                                       str(data["text"]))
                return _json({"thread_id": tid}, 201)
            if method == "POST" and name == "edits":
                forum.edit_post(int(data["post_id"]), str(data["text"]))
                return _json({"ok": True})
            if method == "POST" and name == "expire-sessions":
                return _json({"expired": forum.expire_sessions()})
            if method == "POST" and name == "reset-requests":
                forum.reset_requests()
                return _json({"ok": True})
        except (KeyError, ValueError, TypeError) as exc:
            return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return _json({"error": f"unknown admin call {method} {name}"}, 404)


def _json(obj: object, status: int = 200) -> Response:
    return Response(status, json.dumps(obj, ensure_ascii=False).encode(), content_type="application/json")


def serve_in_thread(server: LabHTTPServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         name="fixture-forum", daemon=True)
    t.start()
    return t
