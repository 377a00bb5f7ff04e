"""SOCKS5 client endpoint on Twisted, with username/password auth (RFC 1928 + RFC 1929).

Why hand-written: txtorcon's SOCKS client refuses username/password, so it cannot carry
Tor's per-forum isolation credentials (``IsolateSOCKSAuth``); Twisted has SOCKSv4 only;
txsocksx is Python 2; pysocks blocks. The protocol part is small and fully tested
against a real tor (tests/tor).

The destination hostname is always sent to Tor as a name (ATYP 3, socks5h semantics):
nothing is ever resolved locally.
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.internet import error as terr
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from crawler.errors import Classified
from crawler.tor.errors import describe_reply


class TorSocksError(Classified, terr.ConnectError):
    """A request could not get through Tor. A ConnectError, so Scrapy's retry applies.

    ``kind``/``reason`` are what the crawl summary shows (see crawler.extensions).
    """

    def __init__(self, kind: str, reason: str) -> None:
        terr.ConnectError.__init__(self, string=reason)
        self.classify(kind, reason)

    def __str__(self) -> str:
        return self.reason


class _Handshake(Protocol):
    """Speaks SOCKS5 until Tor says "succeeded", then hands the stream to the real protocol."""

    def __init__(self, host: bytes, port: int, username: bytes | None, password: bytes | None,
                 factory: Factory, proxy: str) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.factory_wrapped = factory
        self.proxy = proxy
        self.buf = b""
        self.state = "method"
        self.wrapped: Protocol | None = None
        self.ready: Deferred[Protocol] = Deferred(self._cancel)

    def _cancel(self, d: Deferred[Any]) -> None:
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionMade(self) -> None:
        method = b"\x02" if self.username is not None else b"\x00"
        self.transport.write(b"\x05\x01" + method)

    def _fail(self, kind: str, reason: str) -> None:
        self.state = "failed"
        if not self.ready.called:
            self.ready.errback(TorSocksError(kind, reason))
        self.transport.abortConnection()

    def dataReceived(self, data: bytes) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(data)
            return
        if self.state == "failed":
            return
        self.buf += data
        if self.state == "method":
            if len(self.buf) < 2:
                return
            ver, method = self.buf[0], self.buf[1]
            self.buf = self.buf[2:]
            if ver != 5:
                return self._fail("tor-socks-protocol",
                                  f"{self.proxy} is not a SOCKS5 port (is it Tor's SocksPort?)")
            want = 0x02 if self.username is not None else 0x00
            if method != want:
                return self._fail("tor-socks-auth",
                                  f"Tor's SOCKS port {self.proxy} refused the authentication method "
                                  "(isolation credentials need username/password auth)")
            if self.username is not None:
                u, p = self.username[:255], (self.password or b"x")[:255]
                self.transport.write(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
                self.state = "auth"
            else:
                self._send_connect()
        if self.state == "auth":
            if len(self.buf) < 2:
                return
            status = self.buf[1]
            self.buf = self.buf[2:]
            if status != 0:
                return self._fail("tor-socks-auth", f"Tor's SOCKS port {self.proxy} rejected the "
                                  "username/password")
            self._send_connect()
        if self.state == "connect":
            self._read_reply()

    def _send_connect(self) -> None:
        host = self.host[:255]
        self.transport.write(b"\x05\x01\x00\x03" + bytes([len(host)]) + host
                             + struct.pack("!H", self.port))
        self.state = "connect"

    def _read_reply(self) -> None:
        if len(self.buf) < 5:
            return
        ver, rep, _rsv, atyp = self.buf[:4]
        if ver != 5:
            return self._fail("tor-socks-protocol", f"malformed SOCKS5 reply from {self.proxy}")
        if rep != 0:
            kind, reason = describe_reply(rep)
            return self._fail(kind, f"{self.host.decode('ascii', 'replace')}: {reason}")
        if atyp == 1:
            size = 4 + 4 + 2
        elif atyp == 4:
            size = 4 + 16 + 2
        elif atyp == 3:
            size = 4 + 1 + self.buf[4] + 2
        else:
            return self._fail("tor-socks-protocol", f"bad address type {atyp} in SOCKS reply")
        if len(self.buf) < size:
            return
        rest, self.buf = self.buf[size:], b""
        self.state = "open"
        proto = self.factory_wrapped.buildProtocol(self.transport.getPeer())
        if proto is None:
            self.transport.loseConnection()
            self.ready.errback(TorSocksError("tor-socks-protocol", "protocol factory refused"))
            return
        self.wrapped = proto
        proto.makeConnection(self.transport)
        self.ready.callback(proto)
        if rest:
            proto.dataReceived(rest)

    def connectionLost(self, reason: Failure = terr.ConnectionDone) -> None:  # type: ignore[assignment]
        if self.wrapped is not None:
            self.wrapped.connectionLost(reason)
        elif not self.ready.called:
            self.ready.errback(TorSocksError(
                "tor-socks-closed",
                f"Tor closed the SOCKS connection to {self.proxy} during the handshake "
                f"({reason.getErrorMessage()})"))


class _HandshakeFactory(Factory):
    def __init__(self, **kw: Any) -> None:
        self.kw = kw

    def buildProtocol(self, addr: Any) -> _Handshake:
        return _Handshake(**self.kw)


@implementer(IStreamClientEndpoint)
class SocksEndpoint:
    """Connects to ``host:port`` through the SOCKS5 proxy; fails with TorSocksError, never direct."""

    def __init__(self, reactor: Any, proxy_host: str, proxy_port: int, host: str, port: int,
                 username: str | None = None, password: str | None = None,
                 timeout: float = 30) -> None:
        self.reactor = reactor
        self.proxy_host, self.proxy_port = proxy_host, proxy_port
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.timeout = timeout

    @property
    def proxy(self) -> str:
        return f"{self.proxy_host}:{self.proxy_port}"

    def connect(self, protocolFactory: Factory) -> Deferred[Protocol]:
        cls = TCP6ClientEndpoint if ":" in self.proxy_host else TCP4ClientEndpoint
        tcp = cls(self.reactor, self.proxy_host, self.proxy_port, timeout=self.timeout)
        factory = _HandshakeFactory(
            host=self.host.encode("idna") if not self.host.isascii() else self.host.encode("ascii"),
            port=self.port,
            username=self.username.encode() if self.username is not None else None,
            password=self.password.encode() if self.password is not None else None,
            factory=protocolFactory, proxy=self.proxy,
        )
        d = tcp.connect(factory)
        d.addErrback(self._unreachable)
        d.addCallback(lambda hs: hs.ready)
        return d

    def _unreachable(self, failure: Failure) -> Failure:
        if failure.check(terr.ConnectionRefusedError, terr.TimeoutError, terr.ConnectError):
            raise TorSocksError(
                "tor-unreachable",
                f"cannot reach Tor's SOCKS port {self.proxy} ({failure.getErrorMessage()}); "
                "is tor running? Nothing was sent directly.")
        return failure
