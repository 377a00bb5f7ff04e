"""crawler.logjson: one JSON object per line, fields from ``extra``, no secret ever."""

from __future__ import annotations

import io
import json
import logging

import pytest

from crawler.logjson import JsonFormatter, install
from crawler.privacy import scrub_url


@pytest.fixture
def log():
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("darkwatch.test.logjson")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)

    def lines() -> list[dict]:
        out = buf.getvalue().splitlines()
        return [json.loads(line) for line in out]

    yield logger, lines
    logger.handlers[:] = []


def test_one_object_per_line_with_the_standard_fields(log):
    logger, lines = log
    logger.info("fetched %s pages", 3, extra={"forum": "bf-fr", "url": "http://x.onion/t/1", "status": 200})
    logger.warning("multi\nline message")
    a, b = lines()
    assert a["level"] == "INFO" and a["logger"] == "darkwatch.test.logjson"
    assert a["message"] == "fetched 3 pages"
    assert (a["forum"], a["url"], a["status"]) == ("bf-fr", "http://x.onion/t/1", 200)
    assert a["timestamp"].endswith("Z") and a["timestamp"][10] == "T"
    assert list(a)[:7] == ["timestamp", "level", "logger", "message", "forum", "url", "status"]
    assert b["message"] == "multi\nline message" and "forum" not in b


def test_secret_keys_in_extra_are_masked(log):
    logger, lines = log
    logger.info("login", extra={"password": "hunter2", "api_key": "AKIA123456", "cookies": {"sid": "s3cr3t"},
                                "headers": {"Authorization": "Bearer abcdef123456", "Accept": "text/html"},
                                "es_api_key": "zzz", "token": "", "pages": 4})
    (rec,) = lines()
    raw = json.dumps(rec)
    for secret in ("hunter2", "AKIA123456", "s3cr3t", "abcdef123456", "zzz"):
        assert secret not in raw
    assert rec["password"] == "****" and rec["headers"]["Accept"] == "text/html" and rec["pages"] == 4
    assert rec["token"] == ""  # empty is not a secret; shows that none was set


def test_urls_lose_userinfo_and_secret_query_values(log):
    logger, lines = log
    logger.error("cannot reach http://bob:hunter2@forum.onion/ucp.php?sid=deadbeef&f=2 (timeout)",
                 extra={"url": "https://user:pw@es.example.org:9200/_bulk?api_key=k3y&pretty=1"})
    (rec,) = lines()
    assert rec["message"] == "cannot reach http://****@forum.onion/ucp.php?sid=****&f=2 (timeout)"
    assert rec["url"] == "https://****@es.example.org:9200/_bulk?api_key=****&pretty=1"
    assert scrub_url("http://[::1]:8080/x") == "http://[::1]:8080/x"
    assert scrub_url("http://u:p@[::1]:8080/x") == "http://****@[::1]:8080/x"


def test_secrets_in_free_text_and_exceptions(log):
    logger, lines = log
    try:
        raise ValueError("auth failed with password=hunter2 token: 'abc def' "
                         "Authorization: Basic dXNlcjpwYXNz")
    except ValueError:
        logger.exception("login failed for api_key=AKIAXYZ")
    (rec,) = lines()
    raw = json.dumps(rec)
    for secret in ("hunter2", "abc def", "dXNlcjpwYXNz", "AKIAXYZ"):
        assert secret not in raw, secret
    assert "ValueError" in rec["exception"] and rec["message"] == "login failed for api_key=****"


def test_identifiers_are_masked_like_in_alerts(log):
    logger, lines = log
    logger.warning("match in post: NIR 1 84 12 76 451 089 46", extra={"snippet": "nir 184127645108946"})
    (rec,) = lines()
    assert "451" not in rec["message"] and "184127645108946" not in rec["snippet"]


def test_scrapy_spider_extra_becomes_the_forum(log):
    logger, lines = log

    class Spider:
        name = "bf-fr"

    logger.info("Crawled (200)", extra={"spider": Spider()})
    (rec,) = lines()
    assert rec["forum"] == "bf-fr" and "spider" not in rec


def test_bad_format_args_do_not_lose_the_line():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d pages", ("three",), None)
    rec = json.loads(JsonFormatter().format(record))
    assert rec["message"] == "%d pages"


def test_install_routes_the_root_logger():
    buf = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        install("INFO", buf)
        logging.getLogger("scrapy.core.engine").info("Spider opened", extra={"forum": "x"})
        logging.getLogger("x").debug("hidden")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    (line,) = buf.getvalue().splitlines()
    assert json.loads(line)["forum"] == "x"


def test_scrapy_request_records_give_url_and_status():
    class Request:
        url = "http://user:pw@forum.onion/viewtopic.php?t=1&sid=abc"

        def __str__(self):
            return f"<GET {self.url}>"

    class Spider:
        name = "bf-fr"

    record = logging.LogRecord("scrapy.core.engine", logging.DEBUG, __file__, 1,
                               "Crawled (%(status)s) %(request)s", None, None)
    record.args = {"status": 404, "request": Request(), "referer": None}
    record.spider = Spider()
    rec = json.loads(JsonFormatter().format(record))
    assert (rec["forum"], rec["status"]) == ("bf-fr", 404)
    assert rec["url"] == "http://****@forum.onion/viewtopic.php?t=1&sid=****"
    assert rec["message"] == "Crawled (404) <GET http://****@forum.onion/viewtopic.php?t=1&sid=****>"
