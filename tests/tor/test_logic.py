"""Pure logic of the Tor layer: block detection, identity rotation, settings, torrc text."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crawler.config import Config, ForumConfig
from crawler.engines.blocks import block_signal
from crawler.netpolicy import parse_hostport
from crawler.tor.identity import ForumIdentity
from crawler.tor.settings import TOR_HANDLER, tor_settings
from darkwatch_lab import tor_torrc as rc


def forum(**kw):
    return ForumConfig(name=kw.pop("name", "f1"), engine="phpbb",
                       start_urls=["http://example.onion/viewforum.php?f=2"], **kw)


def test_settings_route_everything_through_the_handler():
    cfg = Config()
    s = tor_settings(cfg, forum(tls_verify=False))
    assert s["DOWNLOAD_HANDLERS"]["http"] == TOR_HANDLER == s["DOWNLOAD_HANDLERS"]["https"]
    for scheme in ("ftp", "s3", "file", "data"):
        assert s["DOWNLOAD_HANDLERS"][scheme] is None
    assert s["HTTPPROXY_ENABLED"] is False
    assert s["DARKWATCH_TOR_SOCKS"] == "127.0.0.1:9050"
    assert s["DARKWATCH_TOR_TLS_VERIFY"] is False
    assert "Firefox/" in s["USER_AGENT"] and "Windows NT 10.0" in s["USER_AGENT"]
    # Each forum, and each run, gets its own isolation token.
    assert s["DARKWATCH_TOR_ISOLATION"] != tor_settings(cfg, forum())["DARKWATCH_TOR_ISOLATION"]


def test_block_signal():
    assert block_signal(429, "") == "HTTP 429"
    assert block_signal(403, "") == "HTTP 403"
    assert block_signal(503, "") == "HTTP 503"
    assert block_signal(200, "<html>Checking your browser before accessing</html>")
    assert block_signal(200, "<html><p>a normal post about captcha</p></html>") is None
    assert block_signal(200, "<p>access denied? the endgame filter</p>") is None  # ordinary words
    assert block_signal(200, "<h1>EndGame</h1><p>You are in the queue.</p>")  # the guard's own words
    assert block_signal(200, "x" * 30_000 + "too many requests") is None  # a forum page, not a guard
    assert block_signal(404, "") is None


def test_identity_rotation_changes_credentials():
    ident = ForumIdentity("f1")
    first = ident.credentials()
    ident.rotate()
    assert ident.credentials() != first
    assert ident.credentials()[0].startswith("darkwatch-f1-")


def test_block_middleware_rotates_on_bursts_only():
    from crawler.tor.middleware import BlockSignalMiddleware

    settings = {"DARKWATCH_TOR_SOCKS": "127.0.0.1:9050", "DARKWATCH_TOR_FORUM": "f1"}

    class S(dict):
        def get(self, k, d=None):
            return super().get(k, d)

        def getint(self, k, d=0):
            return int(self.get(k, d))

        def getfloat(self, k, d=0.0):
            return float(self.get(k, d))

    crawler = SimpleNamespace(settings=S(settings), stats=None)
    mw = BlockSignalMiddleware(crawler)
    user0 = mw.identity.credentials()[0]
    assert not mw.note_block("HTTP 429", "u", now=1000.0)
    assert not mw.note_block("HTTP 429", "u", now=1001.0)
    assert mw.note_block("HTTP 429", "u", now=1002.0)  # third in the window
    assert mw.identity.credentials()[0] != user0
    # Rate limit: another burst within 30 s does not rotate again.
    for t in (1003.0, 1004.0, 1005.0):
        assert not mw.note_block("HTTP 503", "u", now=t)
    # Old signals fall out of the window.
    for t in (2000.0, 2500.0, 3000.0):
        assert not mw.note_block("HTTP 503", "u", now=t)


def test_parse_hostport():
    assert parse_hostport("127.0.0.1:9050") == ("127.0.0.1", 9050)
    assert parse_hostport("[::1]:9150") == ("::1", 9150)
    for bad in ("127.0.0.1", "127.0.0.1:0", "host:abc", ":9050"):
        with pytest.raises(ValueError):
            parse_hostport(bad)


def test_lab_torrc_never_exits_and_client_is_onion_only():
    auths = [rc.Authority("auth0", 5000, 5001, "A" * 40, "B" * 40)]
    for text in (rc.relay_torrc("/d", "r", 1, 2, 3, auths), rc.client_torrc("/d", "c", 1, 2, auths),
                 rc.authority_torrc("/d", "a", 1, 2, 3, auths), rc.onion_torrc("/d", "o", 1, 80, auths)):
        assert "ExitRelay 0" in text and "ExitPolicy reject *:*" in text
        assert "TestingTorNetwork 1" in text
        assert "DirAuthority auth0 orport=5000 no-v2 v3ident=" + "A" * 40 in text
    client = rc.client_torrc("/d", "c", 1, 2, auths)
    assert "OnionTrafficOnly" in client and "IsolateSOCKSAuth" in client
    assert "AssumeReachable 1" in rc.relay_torrc("/d", "r", 1, 2, 3, auths)
