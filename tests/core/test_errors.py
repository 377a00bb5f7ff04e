"""One exception base for classified failures (crawler.errors.Classified): every failure the
crawl summary groups by kind is one, readers test the type, not ``getattr(exc, "kind")``."""

from __future__ import annotations

import argparse

import pytest
from scrapy.exceptions import IgnoreRequest
from twisted.internet import error as terr
from twisted.python.failure import Failure

import crawler.cli as cli
from crawler.errors import Classified
from crawler.extensions import failure_reason
from crawler.middlewares import Refused
from crawler.sinks.base import ElasticsearchError, StoreError
from crawler.tor.handler import TorRouteError
from crawler.tor.probe import ProbeError
from crawler.tor.socks import TorSocksError


@pytest.mark.parametrize("cls", [TorSocksError, TorRouteError, ProbeError, Refused])
def test_each_classified_failure_has_kind_and_reason(cls):
    exc = cls("tor-socks-unreachable", "SOCKS port 127.0.0.1:9: connection refused")
    assert isinstance(exc, Classified)
    assert (exc.kind, exc.reason, str(exc)) == (
        "tor-socks-unreachable", "SOCKS port 127.0.0.1:9: connection refused",
        "SOCKS port 127.0.0.1:9: connection refused")
    assert failure_reason(Failure(exc)) == (exc.kind, exc.reason)


def test_framework_types_are_kept():
    assert isinstance(TorSocksError("k", "r"), terr.ConnectError)  # Scrapy's retry applies
    assert isinstance(Refused("k", "r"), IgnoreRequest)  # Scrapy drops the request


def test_an_unclassified_failure_is_not_read_by_attribute():
    class Odd(Exception):
        kind = "looks-classified"

    kind, _reason = failure_reason(Failure(Odd("x")))
    assert kind != "looks-classified"


def test_an_elasticsearch_error_ends_a_command_in_one_line(monkeypatch, capsys):
    """There were two ``StoreError`` classes; the Elasticsearch one escaped ``main`` as a
    traceback (e.g. `alerts ack` on a conflict storm). It is now ElasticsearchError: exit 4."""
    assert not issubclass(ElasticsearchError, StoreError)

    def handler(_args):
        raise ElasticsearchError("alert abc: too many concurrent updates, try again")

    monkeypatch.setattr(cli, "_parse", lambda argv: (None, argparse.Namespace(handler=handler)))
    assert cli.main(["alerts"]) == 4
    err = capsys.readouterr().err
    assert err == "error: alert abc: too many concurrent updates, try again\n"
