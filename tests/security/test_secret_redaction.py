"""Credentials written in URLs never reach stdout/stderr, a log line or the crawl report.

Issue 15: a password in ``store.elasticsearch.url`` (``http://elastic:pass@host``) was printed
in clear by the text logs of ``crawl`` and by the errors of ``spool replay``, ``alerts list``,
``alerts ack`` and ``es setup``. The config here plants one (Elasticsearch down: nothing
listens on the port, the spool path); every output is searched for it at default, ``-v`` and
``-vv`` verbosity, text and JSON logs. The redaction itself (``crawler.logjson.redact``) is
pure and tested directly first.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys

import pytest

from crawler.netpolicy import free_ports
from crawler.privacy import MASK, redact, redact_obj, redact_record
from darkwatch_lab.forum import FixtureForum
from tests.support.cli import REPO, darkwatch, write_config

PLANTED = "S3cretPlanted"
KEY = {"DARKWATCH_FINGERPRINT_KEY": "redaction-test-key-0123456789"}


# -- the function ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    f"Elasticsearch at http://elastic:{PLANTED}@127.0.0.1:9200 is down",
    f"https://elastic:{PLANTED}@[::1]:9200/_bulk",
    f"ConnectionError('elastic:{PLANTED}@127.0.0.1:9200')",  # no scheme
    f"GET http://h/x?page=2&password={PLANTED}",
    f"GET http://h/x?passwd={PLANTED}&token={PLANTED}x",
    f"http://h/?api_key={PLANTED}&apikey={PLANTED}&access_token={PLANTED}&secret={PLANTED}",
    f"login failed: password={PLANTED}, retrying",
    f"api_key: {PLANTED}",
    f"Authorization: Bearer {PLANTED}",
])
def test_redact_masks_url_credentials_and_secret_parameters(text):
    out = redact(text)
    assert PLANTED not in out and MASK in out


def test_redact_keeps_what_identifies_the_target():
    assert redact(f"at http://elastic:{PLANTED}@127.0.0.1:9200/x?page=2") == \
        "at http://****@127.0.0.1:9200/x?page=2"
    assert redact("mail soc@example.org at 10:30, http://127.0.0.1:9200/") == \
        "mail soc@example.org at 10:30, http://127.0.0.1:9200/"
    report = {"forums": [{"error_samples": [{"message": f"http://u:{PLANTED}@h/"}]}], "n": 3}
    assert redact_obj(report) == {"forums": [{"error_samples": [{"message": "http://****@h/"}]}],
                                  "n": 3}


def test_a_log_record_loses_credentials_in_message_args_and_traceback():
    url = f"http://elastic:{PLANTED}@127.0.0.1:9"
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "sending to %s failed", (url,),
                                sys.exc_info())
    redact_record(rec)
    out = logging.Formatter().format(rec)
    assert "Traceback" in out and "http://****@127.0.0.1:9" in out
    assert PLANTED not in out


# -- the commands ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A crawled store and a config whose Elasticsearch URL holds a password; ES is down."""
    forum = FixtureForum(seed=1)
    forum.start()
    (port,) = free_ports(1)
    tmp = tmp_path_factory.mktemp("redaction")
    forums = [{"name": "red-phpbb", "engine": "phpbb", "delay": 0.0, "timezone": "Europe/Paris",
               "start_urls": [forum.base_url + forum.board_page_path("phpbb", b)
                              for b in forum.board_ids(private=False)]}]
    cfg = write_config(
        tmp / "darkwatch.yml", forums, rules={"paths": [str(REPO / "rules")]},
        store={"sqlite": str(tmp / "darkwatch.db"),
               "elasticsearch": {"url": f"http://elastic:{PLANTED}@127.0.0.1:{port}",
                                 "spool_dir": str(tmp / "spool"), "retry_interval": 0,
                                 "request_timeout": 5}})
    yield tmp, cfg
    forum.stop()


def _assert_clean(res, *, tracebacks: bool = False) -> str:
    out = res.stdout + res.stderr
    assert PLANTED not in out, f"planted password printed:\n{out[-3000:]}"
    if not tracebacks:
        assert "Traceback" not in out, out[-3000:]
    return out


@pytest.mark.integration
@pytest.mark.parametrize("flags", [(), ("-v",), ("-vv",), ("--log-format", "json"),
                                   ("--log-format", "json", "-vv")],
                         ids=["text", "text-v", "text-vv", "json", "json-vv"])
def test_crawl_with_elasticsearch_down_prints_no_password(planted, flags):
    tmp, cfg = planted
    report = tmp / f"report{'_'.join(flags)}.json"
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "--report", str(report), *flags,
                    env=KEY)
    debug = "-vv" in flags
    out = _assert_clean(res, tracebacks=debug)
    assert res.returncode == 4, out[-3000:]  # store unavailable: documents kept in the spool
    assert PLANTED not in report.read_text()
    assert "http://****@127.0.0.1" in out  # the host is still named
    if "json" in flags:
        lines = [json.loads(line) for line in res.stderr.splitlines() if line.startswith("{")]
        assert any("Elasticsearch down" in rec["message"] for rec in lines)
    if debug:  # the client's tracebacks are there for whoever asks for them
        assert "Traceback" in out or '"exception"' in out
    else:  # one line for the outage, not a traceback per attempt
        assert out.count("Elasticsearch down:") == 1, out[-3000:]


def _an_alert(tmp) -> str:
    return sqlite3.connect(tmp / "darkwatch.db").execute(
        "SELECT id FROM alerts ORDER BY id LIMIT 1").fetchone()[0]


@pytest.mark.integration
def test_cli_errors_print_no_password(planted):
    tmp, cfg = planted
    if not (tmp / "darkwatch.db").exists():
        assert darkwatch("crawl", "--config", str(cfg), "--direct", "-q", env=KEY).returncode == 4
    alert = _an_alert(tmp)
    c = ("--config", str(cfg))
    runs = {
        "spool replay": (darkwatch("spool", "replay", *c), 4),
        "es setup": (darkwatch("es", "setup", *c), 4),
        "alerts list": (darkwatch("alerts", "list", *c), 0),  # from SQLite, see test_es_down_triage
        "alerts ack": (darkwatch("alerts", "ack", alert[:12], "--note", "seen", *c), 0),
    }
    for name, (res, code) in runs.items():
        out = _assert_clean(res)
        assert res.returncode == code, f"{name}: {out}"
        assert "http://****@127.0.0.1" in res.stderr, f"{name}: {out}"
        assert "is unreachable" in res.stderr, f"{name}: {out}"
