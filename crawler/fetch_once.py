"""One synchronous page fetch for interactive tools (``forums test``, ``tor status``).

Crawls use Scrapy; a config author testing a selector wants one page now. Same rules as
the crawl: through Tor's SOCKS port with hostname resolution left to Tor (socks5h), or
direct to loopback only; HTML only; bounded size.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.netpolicy import direct_refusal

ALLOWED = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    pass


@dataclass(slots=True)
class Page:
    url: str
    status: int
    content_type: str
    text: str


def fetch(url: str, socks: str | None, isolation: str = "darkwatch", timeout: float = 120.0,
          max_bytes: int = 10 * 1024 * 1024, tls_verify: bool = True,
          user_agent: str | None = None) -> Page:
    """``socks`` is ``host:port`` of Tor's SocksPort; None means direct (loopback only)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if socks is None:
        why = direct_refusal(url)
        if why:
            raise FetchError(why)
        sock = None
    else:
        import socks as pysocks  # pysocks: blocking, fine for one interactive fetch

        shost, _, sport = socks.rpartition(":")
        sock = pysocks.socksocket()
        sock.set_proxy(pysocks.SOCKS5, shost, int(sport), rdns=True,
                       username=isolation, password=isolation)  # noqa: S106 - isolation token
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except (pysocks.ProxyError, OSError) as exc:
            sock.close()
            raise FetchError(f"through Tor at {socks}: {exc}") from None
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    kwargs = {}
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        if not tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        kwargs["context"] = ctx
    conn = conn_cls(host, port, timeout=timeout, **kwargs)
    if sock is not None:
        conn.sock = ctx.wrap_socket(sock, server_hostname=host) if parts.scheme == "https" else sock
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    from crawler import settings

    headers = {**settings.DEFAULT_REQUEST_HEADERS,
               "User-Agent": user_agent or settings.USER_AGENT}
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if ctype and ctype not in ALLOWED:
            raise FetchError(f"{url}: Content-Type {ctype} is not HTML; body not downloaded")
        body = resp.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise FetchError(f"{url}: larger than {max_bytes} bytes")
        charset = resp.headers.get_content_charset() or "utf-8"
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return Page(url, resp.status, ctype, text)
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: {exc}") from None
    finally:
        conn.close()
