"""Bad-input routes of the fixture forum (board 99): each misbehaves exactly as documented."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from darkwatch_lab import FAULT_BOARD, FixtureForum
from darkwatch_lab.forum_faults import BOMB_BYTES, FAULTS, LINKS, NESTING, bomb
from tests.support.forum_client import Client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def forum():
    with FixtureForum(seed=1, skins=("phpbb", "mybb", "smf"), retry_failures=2, slow_delay=0.6,
                      huge_bytes=8 * 1024 * 1024) as f:
        yield f


def fault_tid(forum, fault: str) -> int:
    return next(t.tid for t in forum.content.boards[FAULT_BOARD].threads if t.fault == fault)


def url(forum, skin: str, fault: str, page: int = 1) -> str:
    return forum.base_url + forum.thread_page_path(skin, fault_tid(forum, fault), page)


def test_fault_board_links_every_fault_and_is_not_truth(forum):
    hrefs = set()
    for start in range(0, len(FAULTS), 10):
        doc = Client().page(forum.base_url + f"/phpbb/viewforum.php?f=99&start={start}")
        hrefs |= {a.get("href") for a in doc.cssselect("a.topictitle")}
    assert len(hrefs) == len(FAULTS)
    assert not [t for t in forum.truth() if t["board_id"] == FAULT_BOARD]


@pytest.mark.parametrize("skin", ("phpbb", "mybb", "smf"))
def test_retry_500_then_ok(forum, skin):
    forum.reset_requests()
    c = Client()
    assert c.get(url(forum, skin, "retry"))[0] == 500
    assert c.get(url(forum, skin, "retry"))[0] == 500
    status, _, body = c.get(url(forum, skin, "retry"))
    assert status == 200 and any(f'id="{p}900000"'.encode() in body for p in ("p", "post_", "msg"))


def test_not_found_offsite_binary_image(forum):
    c = Client(follow=False)
    assert c.get(url(forum, "phpbb", "notfound"))[0] == 404
    status, headers, _ = c.get(url(forum, "mybb", "offsite"))
    assert status == 302 and headers["Location"].startswith("http://example.invalid/")
    status, headers, body = c.get(url(forum, "phpbb", "binary"))
    assert headers["Content-Type"] == "application/octet-stream" and body.startswith(b"\x00\x01BINARY")
    status, headers, body = c.get(url(forum, "phpbb", "image"))
    assert headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")


def test_slow_page_waits_then_serves(forum):
    t0 = time.monotonic()
    status, _, body = Client().get(url(forum, "phpbb", "slow"))
    assert status == 200 and b'class="post' in body
    assert time.monotonic() - t0 >= 0.6


def test_huge_page_is_streamed_with_its_length(forum):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url(forum, "phpbb", "huge"), timeout=30) as resp:
        assert int(resp.headers["Content-Length"]) == 8 * 1024 * 1024
        assert resp.read(1024).startswith(b"<!DOCTYPE html>")
    # Reading it all yields exactly the announced size (the server does not hold it in memory).
    with opener.open(url(forum, "phpbb", "huge"), timeout=30) as resp:
        total = 0
        while chunk := resp.read(1 << 20):
            total += len(chunk)
    assert total == 8 * 1024 * 1024
    # The server survives a client that hangs up mid-body.
    host, port = forum.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(f"GET {forum.thread_page_path('phpbb', fault_tid(forum, 'huge'), 1)} HTTP/1.1\r\n"
                  f"Host: x\r\n\r\n".encode())
        s.recv(4096)
    assert Client().get(forum.base_url + "/phpbb/index.php")[0] == 200


@pytest.mark.parametrize("skin", ("phpbb", "mybb", "smf"))
def test_next_link_self_and_cycle(forum, skin):
    c = Client()
    sel = {"phpbb": "li.arrow.next a[rel=next]", "mybb": "a.pagination_next",
           "smf": ".pagesection.top a.nav_page:has(span.next_page)"}[skin]
    first = url(forum, skin, "selfnext")
    doc = c.page(first)
    assert doc.cssselect(sel)[0].get("href").replace("./", "/").split("/")[-1] == first.split("/")[-1]
    pages = forum.thread_pages(skin, fault_tid(forum, "cycle"))
    assert pages >= 2
    last = c.page(url(forum, skin, "cycle", pages))
    href = last.cssselect(sel)[0].get("href")
    assert href.split("/")[-1] == url(forum, skin, "cycle", 1).split("/")[-1]


@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", 31), ("deflate", 15)])
def test_bombs_are_small_valid_and_inflate_to_gigabytes(encoding, wbits):
    import zlib

    data = bomb(encoding)
    assert len(data) < 4 * 1024 * 1024
    z, out = zlib.decompressobj(wbits), 0
    for i in range(0, len(data), 1 << 16):  # streamed: never the 2 GiB in memory
        piece = data[i:i + (1 << 16)]
        while piece:
            out += len(z.decompress(piece, 1 << 24))
            piece = z.unconsumed_tail
    out += len(z.flush())
    assert z.eof and out >= BOMB_BYTES  # the trailer (CRC / Adler) checked by zlib


def test_hostile_routes_misbehave_as_documented(forum):
    import http.client

    def get(fault, read=None):
        c = http.client.HTTPConnection("127.0.0.1", int(forum.base_url.rsplit(":", 1)[1]), timeout=5)
        c.request("GET", forum.thread_page_path("phpbb", fault_tid(forum, fault), 1))
        r = c.getresponse()
        return r, r.read(read) if read else r.read()

    r, body = get("gzipbomb")
    assert r.getheader("Content-Encoding") == "gzip" and body == bomb("gzip")
    r, body = get("chunked", read=1 << 20)  # endless: read a MiB, hang up
    assert r.getheader("Transfer-Encoding") == "chunked" and len(body) == 1 << 20
    t0 = time.monotonic()
    r, body = get("drip", read=3)
    assert body == b"<!D" and time.monotonic() - t0 >= 1.8
    r, _ = get("redirectloop")
    assert r.status == 302 and r.getheader("Location").endswith("&hop=1")
    r, body = get("nested")
    assert body.count(b"<div>") >= NESTING
    r, body = get("millionlinks")
    assert body.count(b"<a href=#>") == LINKS and len(body) < 10 * 1024 * 1024
    r, body = get("badenc")
    assert b"\xff\xfe" in body and b'<meta charset="windows-1251">' in body
    r, body = get("imgashtml")
    assert r.getheader("Content-Type").startswith("text/html") and body.startswith(b"\x89PNG")
    r, body = get("htmlaspng")
    assert r.getheader("Content-Type") == "image/png" and b"<html" in body
    for fault, marker in (("ddos", b"You are in the queue"), ("jsonly", b"<noscript>")):
        assert marker in get(fault)[1]
    r, body = get("regex")
    assert len(body) > 500_000
