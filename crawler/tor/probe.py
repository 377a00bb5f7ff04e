"""One blocking HTTP fetch through a SOCKS5 port, hostname resolved by Tor (socks5h).

For status checks and lab readiness only, never inside the reactor. pysocks does the
SOCKS handshake (a maintained library; blocking is fine here).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import socks  # pysocks

from crawler.errors import Classified
from crawler.netpolicy import parse_hostport
from crawler.tor.errors import describe_reply


class ProbeError(Classified):
    """The probe fetch through Tor failed: ``kind`` says where (SOCKS, Tor, the site)."""


@dataclass
class ProbeResult:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def fetch(socks_addr: str, url: str, username: str | None = None, password: str | None = None,
          timeout: float = 30.0, max_bytes: int = 2_000_000) -> ProbeResult:
    """GET ``url`` (http only) through the SOCKS5 port; raises ProbeError with a readable reason."""
    import time

    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ProbeError("bad-url", f"{url!r}: probe fetches plain http:// URLs only")
    shost, sport = parse_hostport(socks_addr)
    s = socks.socksocket(socket.AF_INET6 if ":" in shost else socket.AF_INET)
    s.set_proxy(socks.SOCKS5, shost, sport, rdns=True, username=username, password=password)
    s.settimeout(timeout)
    t0 = time.monotonic()
    try:
        s.connect((parts.hostname, parts.port or 80))
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        s.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
            "Accept: text/html\r\n\r\n".encode("ascii")
        )
        chunks, total = [], 0
        while total < max_bytes:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
            total += len(data)
    except socks.GeneralProxyError as exc:
        raise _from_pysocks(exc, socks_addr) from None
    except socks.ProxyError as exc:
        raise _from_pysocks(exc, socks_addr) from None
    except TimeoutError:
        raise ProbeError("timeout", f"no answer from {url} within {timeout:.0f}s") from None
    except OSError as exc:
        raise ProbeError("socks-unreachable", f"SOCKS port {socks_addr}: {exc}") from None
    finally:
        s.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise ProbeError("bad-response", f"{url}: not an HTTP response: {lines[0][:80]!r}") from None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return ProbeResult(status, headers, body, time.monotonic() - t0)


def _from_pysocks(exc: Exception, socks_addr: str) -> ProbeError:
    """pysocks wraps Tor's reply (SOCKS5Error "0x04: ...") in GeneralProxyError: unwrap it."""
    inner = getattr(exc, "socket_err", None)
    err = inner if isinstance(inner, socks.SOCKS5Error) else exc
    if isinstance(err, socks.SOCKS5Error):
        head = str(err).split(":", 1)[0]
        try:
            return ProbeError(*describe_reply(int(head, 16)))
        except ValueError:
            pass
    if isinstance(exc, socks.ProxyConnectionError) or isinstance(inner, ConnectionError):
        return ProbeError("tor-socks-unreachable",
                          f"cannot reach Tor's SOCKS port {socks_addr}: {inner or exc}")
    if isinstance(inner, TimeoutError) or "timed out" in str(inner):
        return ProbeError("timeout", f"no answer through SOCKS port {socks_addr} in time")
    return ProbeError("tor-socks-error", f"SOCKS error via {socks_addr}: {inner or exc}")
