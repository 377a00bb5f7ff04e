"""SOCKS5 reply codes -> readable errors, through the real handler against a scripted SOCKS server.

The server is a real loopback TCP server that speaks just enough SOCKS5 to answer a
chosen reply code (Tor's codes 0x01-0x08 and its onion codes 0xF0-0xF7), and records the
handshake so the test can check what the handler sent (auth, hostname as a name).
"""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from crawler.tor.errors import SOCKS_REPLIES, describe_reply
from tests.support.tor_fetch import fetch_many

pytestmark = pytest.mark.integration


class ScriptedSocks:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.seen: list[dict] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _recv(self, conn: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise ConnectionError
            buf += chunk
        return buf

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                ver, n = self._recv(conn, 2)
                methods = self._recv(conn, n)
                conn.sendall(b"\x05\x02")
                _, ulen = self._recv(conn, 2)
                user = self._recv(conn, ulen).decode()
                (plen,) = self._recv(conn, 1)
                self._recv(conn, plen)
                conn.sendall(b"\x01\x00")
                _ver, _cmd, _rsv, atyp = self._recv(conn, 4)
                (hlen,) = self._recv(conn, 1)
                host = self._recv(conn, hlen).decode()
                (port,) = struct.unpack("!H", self._recv(conn, 2))
                code = int(host.split(".")[0].removeprefix("code"), 16)
                self.seen.append({"methods": methods, "user": user, "atyp": atyp,
                                  "host": host, "port": port})
                conn.sendall(bytes([5, code, 0, 1]) + b"\0\0\0\0\0\0")
            except (ConnectionError, ValueError):
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def scripted():
    s = ScriptedSocks()
    yield s
    s.close()


def test_every_reply_code_is_mapped_to_a_readable_error(scripted):
    codes = sorted(SOCKS_REPLIES)
    urls = [f"http://code{c:02x}.example.onion/" for c in codes]
    out = fetch_many(scripted.addr, {"f": urls})
    got = {r["url"]: r for r in out["results"]}
    for code, url in zip(codes, urls, strict=True):
        kind, reason = describe_reply(code)
        assert got[url]["error"] == kind, got[url]
        assert reason in got[url]["reason"]
    # What the handler sent: username/password auth only, the hostname as a name (ATYP 3).
    assert {s["methods"] for s in scripted.seen} == {b"\x02"}
    assert {s["atyp"] for s in scripted.seen} == {3}
    assert {s["user"] for s in scripted.seen} == {out["usernames"]["f"]}
    assert {s["port"] for s in scripted.seen} == {80}


def test_readable_reasons():
    assert describe_reply(0x04) == (
        "tor-host-unreachable",
        "host unreachable through Tor (onion service down or gone?) [SOCKS reply 0x04]")
    assert describe_reply(0x06)[0] == "tor-ttl-expired"
    assert describe_reply(0x01)[0] == "tor-general-failure"
    assert describe_reply(0x42) == ("tor-socks-error", "unknown SOCKS reply [SOCKS reply 0x42]")
