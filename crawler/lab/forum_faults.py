"""Bad-input routes for the crawler's robustness tests (board 99 in every skin).

Each fault thread is a normal-looking row on the fault board whose thread URL misbehaves:
``retry`` (500 for the first N attempts, then the page), ``notfound`` (404), ``slow``
(answers after a delay), ``offsite`` (302 to http://example.invalid/), ``binary``
(application/octet-stream), ``image`` (image/png), ``huge`` (~50 MB of HTML, streamed),
``selfnext`` (next-page link points to the page itself) and ``cycle`` (the last page's
next link points back to page 1). ``selfnext``/``cycle`` are rendered by the skin with
the overridden next link; the others are answered here.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator

from crawler.lab.forum_http import Response


def _png() -> bytes:
    """A valid 1x1 PNG, built rather than embedded so the bytes are inspectable."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


PNG = _png()


class Faults:
    def __init__(self, retry_failures: int = 2, slow_delay: float = 3.0,
                 huge_bytes: int = 50 * 1024 * 1024) -> None:
        self.retry_failures = retry_failures
        self.slow_delay = slow_delay
        self.huge_bytes = huge_bytes
        self._lock = threading.Lock()
        self.attempts: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self.attempts.clear()

    def respond(self, fault: str, key: str) -> Response | None:
        """A Response for faults answered outright; None to let the skin render the page."""
        if fault == "retry":
            with self._lock:
                n = self.attempts[key] = self.attempts.get(key, 0) + 1
            if n <= self.retry_failures:
                return Response.html("<html><body><h1>500 Internal Server Error</h1>"
                                     "<p>SQL ERROR [ mysqli ]: Too many connections</p></body></html>", 500)
            return None
        if fault == "notfound":
            return Response.html("<html><body><h1>404 Not Found</h1></body></html>", 404)
        if fault == "offsite":
            return Response.redirect("http://example.invalid/stolen/viewtopic.php?t=1")
        if fault == "binary":
            return Response(200, b"\x00\x01BINARY" * 512, content_type="application/octet-stream",
                            headers=[("Content-Disposition", 'attachment; filename="dump.bin"')])
        if fault == "image":
            return Response(200, PNG, content_type="image/png")
        if fault == "huge":
            return Response(200, huge_html(self.huge_bytes), length=self.huge_bytes)
        return None

    def delay(self, fault: str) -> float:
        """Seconds the server waits before sending the (normal) page of a ``slow`` thread."""
        return self.slow_delay if fault == "slow" else 0.0


def huge_html(total: int) -> Iterator[bytes]:
    """Exactly ``total`` bytes of HTML, produced in 64 KiB chunks (never held in memory)."""
    head = b"<!DOCTYPE html><html><head><title>huge</title></head><body>"
    tail = b"</body></html>"
    filler = (b"<p>" + b"x" * 1017 + b"</p>\n") * 64  # 65536 bytes
    yield head
    left = total - len(head) - len(tail)
    while left > 0:
        piece = filler[:left]
        left -= len(piece)
        yield piece
    yield tail
