import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.netpolicy import direct_refusal, has_binary_extension, is_loopback_host, origin


def test_direct_mode_only_reaches_loopback():
    assert direct_refusal("http://127.0.0.1:8080/x") is None
    assert direct_refusal("http://127.5.6.7/x") is None
    assert direct_refusal("http://[::1]:80/x") is None
    assert "not localhost" in direct_refusal("http://localhost/x")
    assert "never connects to .onion" in direct_refusal("http://abc.onion/")
    for url in ("http://10.0.0.1/", "http://192.168.1.1/", "http://example.com/",
                "http://127.0.0.1.nip.io/", "http://0.0.0.0/"):
        assert "only reaches loopback" in direct_refusal(url), url


def test_loopback_literals():
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1")
    assert not is_loopback_host("") and not is_loopback_host(None)
    assert not is_loopback_host("localhost.example.com")


def test_binary_extensions_are_never_fetched():
    assert has_binary_extension("http://x.onion/files/dump.zip")
    assert has_binary_extension("http://x.onion/img/a.PNG?size=1")
    assert not has_binary_extension("http://x.onion/viewtopic.php?t=1")
    assert not has_binary_extension("http://x.onion/forum/")


def test_origin_defaults_ports():
    assert origin("http://H.onion/a") == ("http", "h.onion", 80)
    assert origin("https://h.onion:8443/") == ("https", "h.onion", 8443)


@pytest.mark.parametrize("order", ["crawler-first", "scrapy-first"])
def test_public_suffix_list_is_never_fetched(order):
    """Scrapy's cookie middleware uses tldextract, which downloads the PSL from the clearnet
    on first use unless told not to: whatever the import order or the environment, it must not."""
    imports = ("import crawler; import scrapy.downloadermiddlewares.cookies as c"
               if order == "crawler-first" else
               "import scrapy.downloadermiddlewares.cookies as c; import crawler")
    code = (f"{imports}\n"
            "assert c._split_domain.suffix_list_urls == (), c._split_domain.suffix_list_urls\n"
            "assert c._is_public_domain('co.uk') and not c._is_public_domain('example.co.uk')\n"
            "print('offline')")
    env = {**os.environ, "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "https://publicsuffix.org/list/x.dat",
           "TLDEXTRACT_CACHE": "/nonexistent-dir-for-test"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=str(Path(__file__).resolve().parents[2]), timeout=60)
    assert r.returncode == 0 and "offline" in r.stdout, r.stderr


def test_free_ports_stay_below_the_ephemeral_range():
    """A port picked from the kernel's ephemeral range can be taken by any outgoing connection
    before the lab's tor binds it ("address in use" at random, under load): picks stay below."""
    import socket

    from crawler.netpolicy import _below_ephemeral, free_ports

    lo, hi = _below_ephemeral()
    with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
        start = int(fh.read().split()[0])
    assert hi < start
    ports = free_ports(40)
    assert len(set(ports)) == 40 and all(lo <= p <= hi for p in ports)
    for p in ports[:5]:  # and each is really free now
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))
