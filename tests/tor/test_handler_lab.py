"""The Tor download handler against the private Tor network (real tor, real onion service)."""

from __future__ import annotations

import pytest

from crawler.tor.settings import TOR_BROWSER_USER_AGENT
from tests.support.tor_fetch import fetch_many

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fetch_onion_through_handler(tor_lab):
    tor_lab.echo.reset()
    out = fetch_many(tor_lab.state.socks, {"one": [tor_lab.echo_url + "/hello?x=1"]})
    (res,) = out["results"]
    assert res.get("status") == 200, res
    assert "path=/hello?x=1" in res["body"]
    (req,) = tor_lab.echo.requests
    # The onion name went to Tor (socks5h) and arrives as the Host header, untouched.
    assert req["headers"]["host"] == f"{tor_lab.onion}:8080"
    assert req["headers"]["user-agent"] == TOR_BROWSER_USER_AGENT
    assert "referer" not in req["headers"]


def test_one_forum_reuses_its_tor_stream(tor_lab):
    """Keep-alive through the SOCKS stream: sequential pages of one forum, one connection."""
    tor_lab.echo.reset()
    out = fetch_many(tor_lab.state.socks, {"one": [tor_lab.echo_url + "/a", tor_lab.echo_url + "/b",
                                                   tor_lab.echo_url + "/c"]}, 60, 0, 1)
    assert sorted(r.get("status") for r in out["results"]) == [200, 200, 200], out
    assert tor_lab.echo.connections == 1


def test_two_forums_get_different_circuits(tor_lab):
    """Isolation: each forum's SOCKS username shows on its own circuit(s) at the client."""
    from stem.control import Controller

    from crawler.tor.control import open_controller

    out = fetch_many(tor_lab.state.socks, {
        "forum-a": [tor_lab.echo_url + "/a1", tor_lab.echo_url + "/a2"],
        "forum-b": [tor_lab.echo_url + "/b1", tor_lab.echo_url + "/b2"],
    })
    assert all(r.get("status") == 200 for r in out["results"]), out
    users = out["usernames"]
    assert users["forum-a"] != users["forum-b"]
    c: Controller = open_controller(tor_lab.state.control, None)
    with c:
        circuits = c.get_circuits()
    by_user: dict[str, set[str]] = {}
    for circ in circuits:
        if circ.socks_username:
            by_user.setdefault(circ.socks_username, set()).add(circ.id)
    assert users["forum-a"] in by_user, (users, by_user)
    assert users["forum-b"] in by_user, (users, by_user)
    assert by_user[users["forum-a"]].isdisjoint(by_user[users["forum-b"]])


def unpublished_onion() -> str:
    """A valid v3 onion address (fresh key, right checksum) that nobody publishes."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    check = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + check + b"\x03").decode().lower() + ".onion"


def test_unknown_onion_is_a_readable_tor_error(tor_lab):
    ghost = f"http://{unpublished_onion()}/"
    bad = "http://notanonion.onion/"
    out = fetch_many(tor_lab.state.socks, {"one": [ghost, bad]}, timeout=90)
    by_url = {r["url"]: r for r in out["results"]}
    assert by_url[bad]["error"] == "tor-onion-bad-address", by_url[bad]
    assert "invalid .onion address" in by_url[bad]["reason"]
    # Descriptor not found (0xf0), or intro/rendezvous failure: an onion error, readable.
    assert by_url[ghost]["error"].startswith("tor-onion-"), by_url[ghost]
    assert "SOCKS reply 0xf" in by_url[ghost]["reason"]


def test_closed_onion_port_is_a_readable_tor_error(tor_lab):
    out = fetch_many(tor_lab.state.socks, {"one": [f"http://{tor_lab.onion}:81/"]}, timeout=90)
    (res,) = out["results"]
    assert res["error"].startswith("tor-"), res
    assert "SOCKS reply 0x" in res["reason"]


def test_clearnet_destination_refused_by_lab_client(tor_lab):
    """The lab client is OnionTrafficOnly: even loopback through Tor is refused, by Tor."""
    tor_lab.echo.reset()
    out = fetch_many(tor_lab.state.socks, {"one": [f"http://127.0.0.1:{tor_lab.echo.port}/"]})
    (res,) = out["results"]
    assert res["error"].startswith("tor-"), res
    assert tor_lab.echo.connections == 0


def test_https_through_the_tunnel_with_self_signed_cert(tor_lab):
    # tls_verify: false (the forum setting) -> the self-signed onion site is fetched over TLS.
    out = fetch_many(tor_lab.state.socks, {"one": [tor_lab.tls_url + "/secure"]})
    (res,) = out["results"]
    assert res.get("status") == 200, res
    assert "path=/secure" in res["body"]
    assert tor_lab.tls.requests[-1]["headers"]["host"] == f"{tor_lab.onion}:8443"


def test_https_certificate_checked_when_tls_verify(tor_lab):
    out = fetch_many(tor_lab.state.socks, {"one": [tor_lab.tls_url + "/verified"]}, 60, 0, 4,
                     "--tls-verify")
    (res,) = out["results"]
    assert res["error"] == "tls-verify-failed", res
    assert "tls_verify: false" in res["reason"]
    assert not any(r["path"] == "/verified" for r in tor_lab.tls.requests)


def test_download_maxsize_and_timeout_still_apply(tor_lab):
    out = fetch_many(tor_lab.state.socks, {"one": [tor_lab.echo_url + "/binary"]}, 60, 0, 4,
                     "--maxsize", "50000")
    (res,) = out["results"]
    assert res["error"] == "too-large" or "maxsize" in res["reason"].lower(), res
    out = fetch_many(tor_lab.state.socks, {"one": [tor_lab.echo_url + "/slow/8"]}, 3)
    (res,) = out["results"]
    assert res["error"] in ("timeout", "downloadtimeouterror"), res


def test_block_burst_moves_the_forum_to_new_circuits(tor_lab):
    """3 block answers (429) -> the forum's SOCKS identity changes -> new circuits at the client."""
    from crawler.tor.control import open_controller

    urls = [tor_lab.echo_url + f"/status/429?n={i}" for i in range(6)]
    out = fetch_many(tor_lab.state.socks, {"blocked": urls}, 60, 0, 1)
    assert [r.get("status") for r in out["results"]] == [429] * 6, out
    user = out["usernames"]["blocked"]
    assert user.endswith("-1"), user  # rotated exactly once (rate limit: once per 30 s)
    gen0 = user[: -len("-1")] + "-0"
    with open_controller(tor_lab.state.control, None) as c:
        users = {circ.socks_username for circ in c.get_circuits() if circ.socks_username}
    assert {gen0, user} <= users, users
