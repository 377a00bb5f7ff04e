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
