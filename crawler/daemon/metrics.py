"""The daemon's metrics: the textfile's series (same names, fed from child crawl reports) plus
daemon gauges, served on ``/metrics`` by prometheus_client's HTTP server."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from crawler.metrics import MetricsState, _finish, record_crawl


class DaemonMetrics:
    """A prometheus_client Collector over the daemon's state; the HTTP thread reads it under a lock."""

    def __init__(self, state: MetricsState | None = None) -> None:
        self.state = state or MetricsState()
        self.lock = threading.Lock()
        self.next_runs: dict[str, float] = {}
        self.failures: dict[str, int] = {}  # consecutive failed crawls per forum (backoff)
        self.running: set[str] = set()
        self.reload_failures = 0
        self.config_ok = True

    def record_report(self, forum: str, report: dict[str, Any] | None, exit_code: int | None,
                      now: float) -> None:
        """One child crawl: its JSON report (``crawl --report``) or, when it wrote none, its exit
        code. ``exit_code`` None: a stopped crawl (its figures count; the exit code gauge stays)."""
        with self.lock:
            if report is not None:
                forums = [SimpleNamespace(**f) for f in report.get("forums", [])]
                record_crawl(self.state, SimpleNamespace(forums=forums, tor=report.get("tor")), now)
            elif exit_code is not None:
                if exit_code == 3:
                    self.state.inc("darkwatch_tor_bootstrap_failures")
                self.state.inc("darkwatch_crawl_runs", (forum, "failed"))
                self.state.set("darkwatch_last_run_timestamp_seconds", (forum,), now)
                self.state.set("darkwatch_last_run_success", (forum,), 0.0)
            _finish(self.state, exit_code, None, now)

    def write_textfile(self, path: str) -> None:
        with self.lock:
            self.state.write(path)

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            families = list(self.state.collect())
            next_run = GaugeMetricFamily(
                "darkwatch_daemon_next_run_timestamp_seconds",
                "When the daemon next starts a crawl of the forum (its backoff included), Unix time.",
                labels=["forum"])
            running = GaugeMetricFamily(
                "darkwatch_daemon_crawl_running", "1 while a crawl of the forum is running.",
                labels=["forum"])
            failures = GaugeMetricFamily(
                "darkwatch_daemon_consecutive_failures",
                "Failed crawls of the forum in a row; while > 0 its next attempt is backed off "
                "(see darkwatch_daemon_next_run_timestamp_seconds).", labels=["forum"])
            for forum in sorted(self.next_runs.keys() | self.running):
                if forum in self.next_runs:
                    next_run.add_metric([forum], self.next_runs[forum])
                    failures.add_metric([forum], float(self.failures.get(forum, 0)))
                running.add_metric([forum], 1.0 if forum in self.running else 0.0)
            families += [
                next_run, running, failures,
                GaugeMetricFamily("darkwatch_daemon_running_crawls", "Crawl processes running now.",
                                  value=len(self.running)),
                CounterMetricFamily("darkwatch_daemon_config_reload_failures",
                                    "Config or rule edits rejected (the previous config stays in use).",
                                    value=self.reload_failures),
                GaugeMetricFamily("darkwatch_daemon_config_valid",
                                  "1 if the config file on disk is the one in use, 0 if its last edit "
                                  "was rejected.", value=1.0 if self.config_ok else 0.0),
            ]
        yield from families


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port); ``ValueError`` with the expected form."""
    from crawler.netpolicy import parse_hostport

    try:
        return parse_hostport(text)
    except ValueError:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9464)") from None


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def serve(metrics: DaemonMetrics, host: str, port: int) -> tuple[Any, threading.Thread]:
    """Start the ``/metrics`` HTTP server in a thread; returns (server, thread)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)  # type: ignore[arg-type]
    return start_http_server(port, addr=host, registry=registry)
