"""Bad-input routes for the crawler's robustness tests (board 99 in every skin).

Each fault thread is a normal-looking row on the fault board whose thread URL misbehaves:
``retry`` (500 for the first N attempts, then the page), ``notfound`` (404), ``slow``
(answers after a delay), ``offsite`` (302 to http://example.invalid/), ``binary``
(application/octet-stream), ``image`` (image/png), ``huge`` (~50 MB of HTML, streamed),
``selfnext`` (next-page link points to the page itself) and ``cycle`` (the last page's
next link points back to page 1). ``selfnext``/``cycle`` are rendered by the skin with
the overridden next link; the others are answered here.

The hostile-page corpus adds: ``gzipbomb``/``deflatebomb`` (~1 MB that inflates to 2 GiB),
``chunked`` (a chunked body that never ends), ``drip`` (1 byte per second), ``redirectloop``
(each hop redirects to the next, forever), ``nested`` (the post inside 10,000 nested tags),
``badenc`` (invalid UTF-8, Latin-1 bytes and a conflicting ``<meta charset>``),
``millionlinks`` (a post of 1,000,000 links), ``imgashtml`` (a PNG served as text/html),
``htmlaspng`` (the page served as image/png), ``ddos`` (an EndGame-style queue page),
``jsonly`` (content written by JavaScript) and ``regex`` (a post of long digit runs and
thousands of NIR look-alikes with wrong keys). Pages the skin renders are altered by
:meth:`Faults.finish`.
"""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator

from darkwatch_lab.forum_http import Response


def _png() -> bytes:
    """A valid 1x1 PNG, built rather than embedded so the bytes are inspectable."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


PNG = _png()

FAULTS = ("retry", "notfound", "slow", "offsite", "binary", "image", "huge", "selfnext", "cycle",
          "gzipbomb", "deflatebomb", "chunked", "drip", "redirectloop", "nested", "badenc",
          "millionlinks", "imgashtml", "htmlaspng", "ddos", "jsonly", "regex")
BOMB_BYTES = 2 * 1024 ** 3
NESTING = 10_000
LINKS = 1_000_000
_bombs: dict[str, bytes] = {}
_bomb_lock = threading.Lock()


def bomb(encoding: str) -> bytes:
    """A valid gzip or HTTP "deflate" (zlib) body of ~2 MB that inflates to ``BOMB_BYTES``.

    One 1 MiB block of zeros is compressed once, ending in a full flush (no back-references
    across it), and repeated: a real bomb, built in about a second, never 2 GiB in memory.
    """
    with _bomb_lock:
        if encoding in _bombs:
            return _bombs[encoding]
        head = b"<!DOCTYPE html><html><body><p>"
        zeros = b"\0" * (1 << 20)
        n = BOMB_BYTES >> 20
        raw = zlib.compressobj(9, zlib.DEFLATED, -15)
        first = raw.compress(head) + raw.flush(zlib.Z_FULL_FLUSH)
        block = raw.compress(zeros) + raw.flush(zlib.Z_FULL_FLUSH)
        final = raw.flush()
        blocks = first + block * n + final
        total = len(head) + n * len(zeros)
        if encoding == "gzip":
            crc = zlib.crc32(head)
            for _ in range(n):
                crc = zlib.crc32(zeros, crc)
            body = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + blocks
                    + struct.pack("<II", crc, total & 0xFFFFFFFF))
        else:  # zlib: the adler-32 of trailing zeros only grows its second sum
            a = zlib.adler32(head)
            lo, hi = a & 0xFFFF, (a >> 16) + (a & 0xFFFF) * (n * len(zeros))
            body = b"\x78\xda" + blocks + struct.pack(">I", ((hi % 65521) << 16) | lo)
        _bombs[encoding] = body
        return body


def endless_html() -> Iterator[bytes]:
    yield b"<!DOCTYPE html><html><head><title>endless</title></head><body>"
    chunk = (b"<p>" + b"y" * 4089 + b"</p>") * 16  # 64 KiB
    while True:
        yield chunk


def drip(body: bytes, every: float = 1.0) -> Iterator[bytes]:
    for i in range(len(body)):
        if i:
            time.sleep(every)
        yield body[i:i + 1]


DDOS_PAGE = """<!DOCTYPE html><html><head><title>Please wait</title>
<meta http-equiv="refresh" content="10"></head><body><h1>EndGame V3</h1>
<p>You are in the queue. This site is protected by EndGame DDoS protection.</p>
<p>Estimated wait: 47 s. Do not refresh.</p>
<form method="post"><input type="hidden" name="q" value="1"></form>
</body></html>"""

JS_ONLY_PAGE = """<!DOCTYPE html><html><head><title>Forum</title>
<script src="/static/app.bundle.js"></script></head><body>
<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>
<script>window.__STATE__ = {"thread": 42};
document.getElementById("root").innerHTML = atob("PGI+aGk8L2I+");</script>
</body></html>"""


def regex_adversarial() -> str:
    """Digit runs and 15-digit NIR look-alikes whose key is always wrong."""
    from darkwatch_lab.forum_text import nir_valid

    looks = []
    n = 0
    while len(looks) < 20_000:
        body = f"1{85 + n % 10:02d}{1 + n % 12:02d}75{n % 900 + 100:03d}{n % 1000:03d}"
        n += 1
        for key in range(1, 98):
            if not nir_valid(f"{body}{key:02d}"):
                looks.append(f"{body}{key:02d}")
                break
    return "0" * 200_000 + " " + " ".join(looks) + " " + "1 2 " * 50_000


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

    def respond(self, fault: str, key: str, query: dict[str, str] | None = None) -> Response | None:
        """A Response for faults answered outright; None to let the skin render the page."""
        hostile = self._hostile(fault, query or {})
        if hostile is not None:
            return hostile
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

    def _hostile(self, fault: str, query: dict[str, str]) -> Response | None:
        html = "text/html; charset=UTF-8"
        if fault in ("gzipbomb", "deflatebomb"):
            enc = "gzip" if fault == "gzipbomb" else "deflate"
            return Response(200, bomb(enc), content_type=html, headers=[("Content-Encoding", enc)])
        if fault == "chunked":
            return Response(200, endless_html(), content_type=html, length=None)
        if fault == "drip":
            body = b"<!DOCTYPE html><html><body>" + b"z" * 600 + b"</body></html>"
            return Response(200, drip(body), content_type=html, length=len(body))
        if fault == "redirectloop":
            hop = int(query.get("hop", "0") or 0) + 1
            rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "hop")
            return Response.redirect(f"?{rest}&hop={hop}")
        if fault == "imgashtml":
            return Response(200, PNG + b"\x00" * 2048, content_type=html)
        if fault == "ddos":
            return Response.html(DDOS_PAGE)
        if fault == "jsonly":
            return Response.html(JS_ONLY_PAGE)
        return None

    def finish(self, fault: str, resp: Response, marker: str) -> Response:
        """Alter a page the skin rendered; ``marker``: the start of the first post's text."""
        resp.delay = self.delay(fault)
        if not isinstance(resp.body, bytes) or fault not in (
                "nested", "badenc", "millionlinks", "regex", "htmlaspng"):
            return resp
        mark = marker.encode()
        if fault == "htmlaspng":
            resp.content_type = "image/png"
        elif fault == "nested":
            resp.body = resp.body.replace(mark, b"<div>" * NESTING + mark + b"</div>" * NESTING, 1)
        elif fault == "badenc":
            resp.body = resp.body.replace(
                b"<head>", b'<head><meta charset="windows-1251">', 1).replace(
                mark, mark + b" caf\xe9 \xff\xfe\xc3( na\xefve \xe2\x82 \xd0\xbf\xd1\x80\xd0\xb8", 1)
        elif fault == "millionlinks":
            resp.body = resp.body.replace(mark, mark + b"<a href=#>" * LINKS, 1)
        elif fault == "regex":
            resp.body = resp.body.replace(mark, mark + b" " + regex_adversarial().encode(), 1)
        return resp

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
