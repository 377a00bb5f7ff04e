"""A loopback HTTP server that records every connection and request (the tests' witness)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        srv: CountingServer = self.server  # type: ignore[assignment]
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in
                                                                 self.headers.items()}})
        status = int(self.path.split("/")[2]) if self.path.startswith("/status/") else 200
        if self.path.startswith("/binary"):
            body, ctype = b"\x89PNG\r\n\x1a\n" + b"\0" * 100_000, "image/png"
        else:
            body = (f"<!DOCTYPE html><html><head><title>echo {self.path}</title></head>"
                    f"<body><p>path={self.path}</p></body></html>").encode()
            ctype = "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[dict] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def get_request(self):  # type: ignore[no-untyped-def]
        conn = super().get_request()
        with self.lock:
            self.connections += 1
        return conn

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> CountingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def reset(self) -> None:
        with self.lock:
            self.connections = 0
            self.requests.clear()
