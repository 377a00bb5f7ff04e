"""Crawl metrics in Prometheus text format, for node_exporter's textfile collector.

``darkwatch crawl --metrics-file F`` is a short-lived process: nothing scrapes it while it runs.
So each run reads the previous file, adds its own figures to the counters (``*_total`` stay
monotonic across runs, as Prometheus expects) and rewrites the file atomically (temporary file
+ rename: the collector never reads half a file). The last successful crawl time per forum
survives in the file; when the file is missing it is rebuilt from the SQLite ``runs`` table.

``prometheus_client`` (the Prometheus project's own client) renders and parses the format:
label escaping, HELP/TYPE lines and ``write_to_textfile``'s atomic rename are its job, and its
parser reads the previous file back. The same registry can later serve ``/metrics`` in daemon
mode (``prometheus_client.start_http_server``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

logger = logging.getLogger(__name__)

Labels = tuple[str, ...]

# name (without _total for counters) -> (type, help, label names)
METRICS: dict[str, tuple[str, str, Labels]] = {
    "darkwatch_crawl_runs": (
        "counter", "Forum crawl runs by outcome: ok, failed, skipped (another run held the lock), "
        "stopped (interrupted by SIGTERM/SIGINT).",
        ("forum", "status")),
    "darkwatch_pages_fetched": ("counter", "Pages fetched (board + thread pages).", ("forum",)),
    "darkwatch_requests": ("counter", "HTTP requests sent, retries and logins included.", ("forum",)),
    "darkwatch_crawl_errors": (
        "counter", "Crawl errors by kind (timeout, http-503, session-expired, tor-..., ...).",
        ("forum", "kind")),
    "darkwatch_posts_new": ("counter", "New posts stored.", ("forum",)),
    "darkwatch_posts_edited": ("counter", "Edited posts updated.", ("forum",)),
    "darkwatch_alerts": ("counter", "Alerts raised, by rule level.", ("forum", "level")),
    "darkwatch_tor_bootstrap_failures": (
        "counter", "Crawls that could not start because Tor was unavailable or did not bootstrap.", ()),
    "darkwatch_tor_circuit_failures": (
        "counter", "Requests that failed inside Tor (circuit or SOCKS errors).", ("forum",)),
    "darkwatch_last_run_timestamp_seconds": (
        "gauge", "End of the forum's last crawl run (ok or failed), Unix time.", ("forum",)),
    "darkwatch_last_run_success": (
        "gauge", "1 if the forum's last crawl run succeeded, 0 if it failed.", ("forum",)),
    "darkwatch_last_run_duration_seconds": (
        "gauge", "Duration of the forum's last crawl run.", ("forum",)),
    "darkwatch_last_success_timestamp_seconds": (
        "gauge", "End of the forum's last successful crawl, Unix time (alert when too old).",
        ("forum",)),
    "darkwatch_spool_depth": (
        "gauge", "Documents waiting in the spool for the store (Elasticsearch) to accept them.", ()),
    "darkwatch_crawl_last_exit_code": (
        "gauge", "Exit code of the last darkwatch crawl (0 ok, 1 partial, 2 config, 3 Tor, 4 store).",
        ()),
    "darkwatch_crawl_last_completion_timestamp_seconds": (
        "gauge", "End of the last darkwatch crawl invocation, Unix time.", ()),
}
# Error kinds reported by the Tor download layer (``tor-...``/``socks-...``) count as circuit failures.
TOR_ERROR_PREFIXES = ("tor", "socks")


class MetricsState:
    """Sample values keyed by metric name, then by label values; loaded from and saved to a file."""

    def __init__(self) -> None:
        self.values: dict[str, dict[Labels, float]] = {name: {} for name in METRICS}

    def inc(self, name: str, labels: Labels = (), by: float = 1.0) -> None:
        series = self.values[name]
        series[labels] = series.get(labels, 0.0) + by

    def set(self, name: str, labels: Labels, value: float) -> None:
        self.values[name][labels] = float(value)

    def get(self, name: str, labels: Labels = ()) -> float | None:
        return self.values[name].get(labels)

    @classmethod
    def from_text(cls, text: str) -> MetricsState:
        """Known series from a previous file; unknown metrics and ``_created`` samples are ignored."""
        state = cls()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name = sample.name.removesuffix("_total") if family.type == "counter" else sample.name
                if name not in METRICS or sample.name.endswith("_created"):
                    continue
                label_names = METRICS[name][2]
                if set(sample.labels) != set(label_names):
                    continue
                state.values[name][tuple(sample.labels[k] for k in label_names)] = float(sample.value)
        return state

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MetricsState:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return cls()
        try:
            return cls.from_text(text)
        except Exception as exc:  # a garbled file must not stop the crawl's metrics
            logger.warning("metrics file %s is unreadable (%s): counters restart from zero", path, exc)
            return cls()

    # prometheus_client Collector protocol
    def collect(self) -> Iterator[Metric]:
        for name, (kind, doc, label_names) in METRICS.items():
            series = self.values[name]
            if not series:
                continue
            family_cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = family_cls(name, doc, labels=list(label_names))
            for labels in sorted(series):
                family.add_metric(list(labels), series[labels])
            yield family

    def render(self) -> str:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)  # type: ignore[arg-type]
        return generate_latest(registry).decode("utf-8")

    def write(self, path: str | os.PathLike[str]) -> None:
        """Atomic: written beside the target, then renamed over it."""
        path = os.fspath(path)
        # node_exporter (another user) reads the file: world-readable, never world-writable,
        # whatever the caller's umask.
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o755, exist_ok=True)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)  # type: ignore[arg-type]
        write_to_textfile(path, registry)
        os.chmod(path, 0o644)


def record_crawl(state: MetricsState, result: Any, now: float) -> None:
    """Add one ``CrawlResult`` (crawler.crawl) to ``state``."""
    for f in result.forums:
        forum = (f.forum,)
        state.inc("darkwatch_crawl_runs", (f.forum, f.status))
        if f.status == "skipped":
            continue  # another run is crawling it: that run reports
        state.inc("darkwatch_pages_fetched", forum, f.pages)
        state.inc("darkwatch_requests", forum, f.requests)
        state.inc("darkwatch_posts_new", forum, f.posts_new)
        state.inc("darkwatch_posts_edited", forum, f.posts_edited)
        for kind, n in f.errors.items():
            state.inc("darkwatch_crawl_errors", (f.forum, kind), n)
        tor_errors = sum(n for kind, n in f.errors.items() if kind.lower().startswith(TOR_ERROR_PREFIXES))
        tor_errors += int(getattr(f, "tor_circuit_failures", 0) or 0)
        state.inc("darkwatch_tor_circuit_failures", forum, tor_errors)
        for level, n in f.alerts_by_level.items():
            state.inc("darkwatch_alerts", (f.forum, level), n)
        if f.status == "stopped":
            continue  # interrupted (SIGTERM/SIGINT): its pages and posts count, not as a run outcome
        ok = f.status == "ok"
        state.set("darkwatch_last_run_timestamp_seconds", forum, now)
        state.set("darkwatch_last_run_success", forum, 1.0 if ok else 0.0)
        state.set("darkwatch_last_run_duration_seconds", forum, f.duration)
        if ok:
            state.set("darkwatch_last_success_timestamp_seconds", forum, now)
    tor = getattr(result, "tor", None) or {}
    if tor.get("bootstrap_failures"):
        state.inc("darkwatch_tor_bootstrap_failures", (), tor["bootstrap_failures"])


def fill_last_successes(state: MetricsState, store: Any, forums: Iterable[str] | None = None) -> None:
    """Take each forum's last success from the store's runs table where the file had none (or older)."""
    from crawler.monitoring import last_successes

    wanted = set(forums) if forums is not None else None
    for forum, ts in last_successes(store).items():
        if wanted is not None and forum not in wanted:
            continue
        current = state.get("darkwatch_last_success_timestamp_seconds", (forum,))
        if current is None or ts > current:
            state.set("darkwatch_last_success_timestamp_seconds", (forum,), ts)


def _finish(state: MetricsState, exit_code: int | None, spool_depth: int | None, now: float) -> None:
    if exit_code is not None:
        state.set("darkwatch_crawl_last_exit_code", (), exit_code)
    if spool_depth is not None:
        state.set("darkwatch_spool_depth", (), spool_depth)
    state.set("darkwatch_crawl_last_completion_timestamp_seconds", (), now)
    for name, (kind, _, labels) in METRICS.items():
        if kind == "counter" and not labels and () not in state.values[name]:
            state.set(name, (), 0.0)  # unlabelled counters exist from the first run: rate() works


def write_crawl_metrics(
    path: str | os.PathLike[str],
    result: Any,
    *,
    exit_code: int | None = None,
    spool_depth: int | None = None,
    store: Any = None,
    now: float | None = None,
) -> MetricsState:
    """Update the metrics file at ``path`` with one crawl's ``CrawlResult``.

    ``store``: the state store (``SqliteStore``), read for last successes the file lacks.
    ``spool_depth``: documents waiting in the spool, if the caller knows (kept from before if None).
    """
    now = time.time() if now is None else now
    state = MetricsState.load(path)
    if store is not None:
        fill_last_successes(state, store)
    record_crawl(state, result, now)
    _finish(state, exit_code, spool_depth, now)
    state.write(path)
    return state


def write_refused_metrics(
    path: str | os.PathLike[str],
    exit_code: int,
    *,
    spool_depth: int | None = None,
    store: Any = None,
    now: float | None = None,
) -> MetricsState:
    """Update the file for a crawl that never started (exit 2 config/rules, 3 Tor unavailable)."""
    now = time.time() if now is None else now
    state = MetricsState.load(path)
    if store is not None:
        fill_last_successes(state, store)
    if exit_code == 3:
        state.inc("darkwatch_tor_bootstrap_failures")
    _finish(state, exit_code, spool_depth, now)
    state.write(path)
    return state

