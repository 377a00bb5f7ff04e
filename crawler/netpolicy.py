"""Which URLs a crawl may ever touch. Pure: shared by the CLI checks and the middlewares."""

from __future__ import annotations

import ipaddress
import posixpath
import random
import socket
from urllib.parse import urlsplit

# Never fetched: media, archives, binaries, documents. Checked before a request is sent;
# the Content-Type guard catches what hides behind an innocent-looking URL.
BINARY_EXTENSIONS = frozenset((
    "7z", "apk", "avi", "bin", "bmp", "bz2", "cab", "dll", "deb", "dmg", "doc", "docx", "exe",
    "flac", "gif", "gz", "heic", "ico", "img", "iso", "jar", "jpeg", "jpg", "js", "json", "m4a",
    "m4v", "mkv", "mov", "mp3", "mp4", "mpeg", "mpg", "msi", "odt", "ogg", "pdf", "png", "ppt",
    "pptx", "rar", "rpm", "svg", "swf", "tar", "tgz", "tif", "tiff", "torrent", "ttf", "wav",
    "webm", "webp", "woff", "woff2", "xls", "xlsx", "xz", "zip", "zst", "css", "apng", "avif",
    "csv", "txt", "sql",
))


def is_loopback_host(host: str | None) -> bool:
    """True only for loopback IP literals: what ``--direct`` may reach.

    Not ``localhost``: resolving it may send a DNS query when /etc/hosts lacks it.
    """
    if not host:
        return False
    host = host.strip("[]").lower()
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def direct_refusal(url: str) -> str | None:
    """Why ``--direct`` must not fetch ``url``, or None when it may."""
    host = urlsplit(url).hostname or ""
    if host.endswith(".onion"):
        return f"{url}: --direct never connects to .onion hosts; they are reached through Tor only"
    if not is_loopback_host(host):
        return (
            f"{url}: --direct only reaches loopback test servers (IP literals in 127.0.0.0/8 or ::1); "
            "drop --direct to crawl through Tor (write 127.0.0.1, not localhost)"
        )
    return None


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, (parts.hostname or "").lower(), port)


def has_binary_extension(url: str) -> bool:
    path = urlsplit(url).path
    ext = posixpath.splitext(path)[1].lower().lstrip(".")
    return ext in BINARY_EXTENSIONS


PSL_ENV = "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"


def forbid_public_suffix_fetch() -> None:
    """Stop tldextract (used by Scrapy's cookie middleware) from fetching the Public Suffix List.

    By default its first use downloads publicsuffix.org's list directly, outside Tor: a DNS
    query and a clearnet connection from the crawler host. An empty URL list makes it use the
    snapshot bundled with the package. Called on import of ``crawler``, before Scrapy builds
    its extractor; the patch below covers a cookie module imported earlier.
    """
    import os
    import sys

    os.environ[PSL_ENV] = ""
    cookies = sys.modules.get("scrapy.downloadermiddlewares.cookies")
    if cookies is not None and getattr(cookies._split_domain, "suffix_list_urls", ()):
        from tldextract import TLDExtract

        cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)


EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"


def _below_ephemeral() -> tuple[int, int]:
    """Ports below the kernel's ephemeral range, which it never hands to outgoing connections.

    A port from ``bind(0)`` comes from that range, so between the pick and tor's own bind any
    outgoing connection on the machine (a circuit, an HTTP client) may take it: the lab's tor
    then exits with "address in use", at random, under load. Below the range only another
    explicit bind can collide, and a random pick makes that unlikely."""
    try:
        with open(EPHEMERAL_RANGE) as fh:
            start = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        start = 32768
    return max(10000, start - 16000), start - 1


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held open together so they differ), picked at random
    below the ephemeral range (see :func:`_below_ephemeral`); from the kernel (``bind(0)``)
    only where that range leaves no room.

    The one port helper: a launched tor, the lab and the tests take their ports here.
    """
    lo, hi = _below_ephemeral()
    rng = random.SystemRandom()
    socks_: list[socket.socket] = []
    ports: list[int] = []
    tries = 0
    try:
        while len(ports) < n:
            tries += 1
            port = rng.randint(lo, hi) if hi - lo >= 1000 and tries <= 50 * n else 0
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # taken (or in TIME_WAIT): pick another
                s.close()
                continue
            socks_.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks_:
            s.close()
    return ports


def parse_hostport(value: str, default_port: int | None = None) -> tuple[str, int]:
    """``"127.0.0.1:9050"`` -> ("127.0.0.1", 9050); ``[::1]:9050`` -> ("::1", 9050).

    The one host:port parser (Tor's SOCKS and control ports, the metrics listener, one-page
    fetches): IPv6 brackets stripped, the port checked.
    """
    host, sep, port = value.rpartition(":")
    if not sep:
        if default_port is None:
            raise ValueError(f"{value!r}: expected host:port, e.g. 127.0.0.1:9050")
        return value.strip("[]"), default_port
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: expected host:port, e.g. 127.0.0.1:9050")
    return host, int(port)
