"""crawler.metrics: the textfile-collector file, parsed back with prometheus_client's parser."""

from __future__ import annotations

import os
import threading
from dataclasses import fields

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.crawl import CrawlResult, ForumResult
from crawler.metrics import MetricsState, write_crawl_metrics, write_refused_metrics
from crawler.sinks.sqlite import SqliteStore


def samples(path) -> dict[tuple[str, tuple], float]:
    """Every sample of the file, keyed (name, sorted labels); the parser raises on bad syntax."""
    text = path.read_text(encoding="utf-8")
    out = {}
    for fam in text_string_to_metric_families(text):
        assert fam.type == ("counter" if fam.name + "_total" in text else "gauge"), fam.name
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def forum_result(row: dict) -> ForumResult:
    names = {f.name for f in fields(ForumResult)}
    return ForumResult(**{k: v for k, v in row.items() if k in names})


def result(*rows: dict) -> CrawlResult:
    return CrawlResult([forum_result(r) for r in rows], "2026-01-01T10:00:00Z", 12.3)


OK_ROW = {"forum": "bf-fr", "status": "ok", "pages": 14, "board_pages": 3, "thread_pages": 11,
          "requests": 15, "posts_seen": 70, "posts_new": 3, "posts_edited": 1, "alerts": 2,
          "alerts_by_level": {"critical": 1, "high": 1}, "errors": {}, "duration": 11.9,
          "finish_reason": "finished"}
FAILED_ROW = {"forum": "xss", "status": "failed", "pages": 2, "requests": 9, "posts_new": 0,
              "errors": {"timeout": 4, "tor-circuit": 2, "http-503": 1}, "duration": 60.0,
              "finish_reason": "finished"}
SKIPPED_ROW = {"forum": "exploit", "status": "skipped"}


def test_one_run_gives_every_figure(tmp_path):
    path = tmp_path / "darkwatch.prom"
    write_crawl_metrics(path, result(OK_ROW, FAILED_ROW, SKIPPED_ROW), exit_code=1, spool_depth=7, now=1000.0)
    s = samples(path)
    assert s[("darkwatch_pages_fetched_total", (("forum", "bf-fr"),))] == 14
    assert s[("darkwatch_posts_new_total", (("forum", "bf-fr"),))] == 3
    assert s[("darkwatch_alerts_total", (("forum", "bf-fr"), ("level", "critical")))] == 1
    assert s[("darkwatch_alerts_total", (("forum", "bf-fr"), ("level", "high")))] == 1
    assert s[("darkwatch_crawl_errors_total", (("forum", "xss"), ("kind", "timeout")))] == 4
    assert s[("darkwatch_crawl_errors_total", (("forum", "xss"), ("kind", "http-503")))] == 1
    assert s[("darkwatch_tor_circuit_failures_total", (("forum", "xss"),))] == 2
    assert s[("darkwatch_tor_bootstrap_failures_total", ())] == 0
    assert s[("darkwatch_crawl_runs_total", (("forum", "exploit"), ("status", "skipped")))] == 1
    assert s[("darkwatch_last_success_timestamp_seconds", (("forum", "bf-fr"),))] == 1000.0
    assert ("darkwatch_last_success_timestamp_seconds", (("forum", "xss"),)) not in s
    assert s[("darkwatch_last_run_success", (("forum", "xss"),))] == 0
    assert s[("darkwatch_last_run_success", (("forum", "bf-fr"),))] == 1
    assert s[("darkwatch_spool_depth", ())] == 7
    assert s[("darkwatch_crawl_last_exit_code", ())] == 1
    text = path.read_text()
    assert "# TYPE darkwatch_pages_fetched_total counter" in text
    assert "# TYPE darkwatch_last_success_timestamp_seconds gauge" in text
    # a skipped forum reports nothing but its skip (the run holding the lock reports)
    assert not [k for k in s if ("forum", "exploit") in k[1] and k[0] != "darkwatch_crawl_runs_total"]


def test_counters_accumulate_and_last_success_persists_across_runs(tmp_path):
    path = tmp_path / "darkwatch.prom"
    write_crawl_metrics(path, result(OK_ROW, FAILED_ROW), exit_code=1, spool_depth=7, now=1000.0)
    # next hour bf-fr fails, xss recovers; no spool depth given: the previous one is kept
    write_crawl_metrics(path, result({**FAILED_ROW, "forum": "bf-fr"}, {**OK_ROW, "forum": "xss"}),
                        exit_code=1, now=4600.0)
    s = samples(path)
    assert s[("darkwatch_pages_fetched_total", (("forum", "bf-fr"),))] == 14 + 2
    assert s[("darkwatch_crawl_errors_total", (("forum", "xss"), ("kind", "timeout")))] == 4
    assert s[("darkwatch_crawl_errors_total", (("forum", "bf-fr"), ("kind", "timeout")))] == 4
    assert s[("darkwatch_last_success_timestamp_seconds", (("forum", "bf-fr"),))] == 1000.0
    assert s[("darkwatch_last_success_timestamp_seconds", (("forum", "xss"),))] == 4600.0
    assert s[("darkwatch_last_run_timestamp_seconds", (("forum", "bf-fr"),))] == 4600.0
    assert s[("darkwatch_crawl_runs_total", (("forum", "bf-fr"), ("status", "ok")))] == 1
    assert s[("darkwatch_crawl_runs_total", (("forum", "bf-fr"), ("status", "failed")))] == 1
    assert s[("darkwatch_spool_depth", ())] == 7


def test_missing_file_rebuilds_last_success_from_the_sqlite_runs_table(tmp_path):
    store = SqliteStore(str(tmp_path / "darkwatch.db"))
    try:
        run = store.start_run("bf-fr")
        store.finish_run(run, "ok", {})
        store._db.execute("UPDATE runs SET finished='2026-01-01T09:00:00Z' WHERE id=?", (run,))
        failed = store.start_run("xss")
        store.finish_run(failed, "failed", {})
        path = tmp_path / "darkwatch.prom"
        write_crawl_metrics(path, result(SKIPPED_ROW), exit_code=0, store=store, now=2e9)
    finally:
        store.close()
    s = samples(path)
    assert s[("darkwatch_last_success_timestamp_seconds", (("forum", "bf-fr"),))] == 1767258000.0
    assert ("darkwatch_last_success_timestamp_seconds", (("forum", "xss"),)) not in s


def test_tor_unavailable_counts_a_bootstrap_failure(tmp_path):
    path = tmp_path / "darkwatch.prom"
    write_crawl_metrics(path, result(OK_ROW), exit_code=0, now=1000.0)
    write_refused_metrics(path, 3, now=2000.0)
    write_refused_metrics(path, 2, now=3000.0)  # config error: not a Tor failure
    s = samples(path)
    assert s[("darkwatch_tor_bootstrap_failures_total", ())] == 1
    assert s[("darkwatch_crawl_last_exit_code", ())] == 2
    assert s[("darkwatch_last_success_timestamp_seconds", (("forum", "bf-fr"),))] == 1000.0
    assert s[("darkwatch_crawl_last_completion_timestamp_seconds", ())] == 3000.0


def test_label_values_are_escaped(tmp_path):
    path = tmp_path / "darkwatch.prom"
    weird = 'bad"kind\\with\nnewline'
    write_crawl_metrics(path, result({**FAILED_ROW, "errors": {weird: 1}}), now=1.0)
    s = samples(path)
    assert s[("darkwatch_crawl_errors_total", (("forum", "xss"), ("kind", weird)))] == 1


def test_garbled_previous_file_restarts_counters_instead_of_failing(tmp_path, caplog):
    path = tmp_path / "darkwatch.prom"
    path.write_text('darkwatch_pages_fetched_total{forum="x" 1\n')
    write_crawl_metrics(path, result(OK_ROW), now=1.0)
    assert samples(path)[("darkwatch_pages_fetched_total", (("forum", "bf-fr"),))] == 14
    assert "unreadable" in caplog.text


def test_write_is_atomic_readers_never_see_a_partial_file(tmp_path):
    """A reader polling the file while runs rewrite it always parses a complete file."""
    path = tmp_path / "darkwatch.prom"
    rows = [{**OK_ROW, "forum": f"forum-{i:03d}"} for i in range(150)]
    write_crawl_metrics(path, result(*rows), now=1.0)
    stop, problems = threading.Event(), []

    def reader():
        while not stop.is_set():
            text = path.read_text()
            try:
                n = sum(1 for f in text_string_to_metric_families(text) for _ in f.samples)
            except Exception as exc:  # noqa: BLE001
                problems.append(repr(exc))
                continue
            if n < 150 * 5:
                problems.append(f"partial file: {n} samples")

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(20):
            write_crawl_metrics(path, result(*rows), now=float(i))
    finally:
        stop.set()
        t.join()
    assert problems == []
    assert [p for p in os.listdir(tmp_path) if p != "darkwatch.prom"] == []  # no temp file left


def test_state_round_trips_through_text():
    state = MetricsState()
    state.inc("darkwatch_posts_new", ("a",), 3)
    state.set("darkwatch_last_success_timestamp_seconds", ("a",), 17.0)
    back = MetricsState.from_text(state.render())
    assert back.get("darkwatch_posts_new", ("a",)) == 3
    assert back.get("darkwatch_last_success_timestamp_seconds", ("a",)) == 17.0


@pytest.mark.integration
def test_metrics_from_a_real_crawl(real_crawl, tmp_path):
    """The report and the runs table of a real ``darkwatch crawl`` (loopback forum)."""
    report = real_crawl["report"]
    crawl = CrawlResult([forum_result(r) for r in report["forums"]], report["started"], report["duration"])
    store = SqliteStore(str(real_crawl["db"]))
    try:
        path = tmp_path / "darkwatch.prom"
        write_crawl_metrics(path, crawl, exit_code=1, store=store, spool_depth=0)
    finally:
        store.close()
    s = samples(path)
    assert s[("darkwatch_posts_new_total", (("forum", "mini"),))] == 3
    assert s[("darkwatch_pages_fetched_total", (("forum", "mini"),))] == 3  # board + 2 threads
    assert s[("darkwatch_last_run_success", (("forum", "mini"),))] == 1
    assert s[("darkwatch_last_run_success", (("forum", "dead"),))] == 0
    dead_errors = {k[1][1][1]: v for k, v in s.items()
                   if k[0] == "darkwatch_crawl_errors_total" and ("forum", "dead") in k[1]}
    assert sum(dead_errors.values()) >= 1, s
    assert ("darkwatch_last_success_timestamp_seconds", (("forum", "dead"),)) not in s
