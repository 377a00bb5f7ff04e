import pytest

from crawler.spiders.cookies import CookieFileError, load_cookies


def test_netscape_cookies(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("# Netscape HTTP Cookie File\n"
                 "#HttpOnly_.x.onion\tTRUE\t/\tFALSE\t0\tphpbb3_sid\tabc\n"
                 "x.onion\tFALSE\t/forum\tFALSE\t0\tk\tv\n")
    assert load_cookies(str(p)) == [
        {"name": "phpbb3_sid", "value": "abc", "domain": ".x.onion", "path": "/"},
        {"name": "k", "value": "v", "domain": "x.onion", "path": "/forum"},
    ]


def test_json_cookies(tmp_path):
    p = tmp_path / "c.json"
    p.write_text('[{"name": "s", "value": "1", "domain": "x.onion", "path": "/", "secure": false}]')
    assert load_cookies(str(p)) == [{"name": "s", "value": "1", "domain": "x.onion", "path": "/"}]


def test_bad_cookie_file_points_at_line(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("# header\nx.onion\tTRUE\t/\n")
    with pytest.raises(CookieFileError, match=r"c.txt:2: expected 7 tab-separated fields"):
        load_cookies(str(p))
