"""``darkwatch run --daemon`` and ``darkwatch crawl`` under signals, and the daemon's backoff.

Unit tests for the pure parts (backoff math, a stopped crawl's status and metrics), then the real
daemon and crawl processes against a loopback forum whose board can be *held* (the request waits
until the test releases it: a crawl provably in flight, whatever the machine's load) or made to
*fail* (404: Scrapy does not retry it, so a failed crawl takes seconds, not its 30 s of retries).
"""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.config.loader import parse_config
from crawler.daemon.runner import human
from crawler.daemon.scheduler import Scheduler, backoff_delay
from crawler.metrics import MetricsState, record_crawl
from crawler.monitoring import parse_ts
from tests.support.cli import REPO, darkwatch, write_config
from tests.support.figures import figure
from tests.support.mini_forum import PAGES, forum_entry

T0 = 1_772_445_600.0  # 2026-03-02 10:00:00 UTC
UNIT = REPO / "deploy/systemd/darkwatch-daemon.service"


def one_forum(**extra: object):
    entry = {"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1/"], **extra}
    return parse_config(json.dumps({"forums": [entry]}), "d.yml").forums[0]


# --- pure logic -----------------------------------------------------------------------------
def test_backoff_doubles_from_the_failed_crawls_end_capped_and_reset_by_a_success():
    forum = one_forum(every="10s")
    assert [backoff_delay(forum, n, 8, T0) for n in range(1, 7)] == [10, 20, 40, 80, 80, 80]
    s = Scheduler(backoff_max=4)
    s.sync([forum], T0)
    start = T0
    for n, wait in enumerate([10, 20, 40, 40], start=1):      # capped at 4 intervals
        s.started("f", start)
        end = start + 3
        assert s.finished("f", True, end) == wait             # counted from the end, not the start
        assert s.next_runs()["f"] == end + wait and s.failures() == {"f": n}
        assert s.due(end + wait - 0.1) == [] and [f.name for f in s.due(end + wait)] == ["f"]
        start = end + wait
    s.started("f", start)
    assert s.finished("f", False, start + 3) is None          # a success: the normal schedule
    assert s.failures() == {"f": 0} and s.next_runs()["f"] == start + 10
    s.started("f", start + 10)
    assert s.finished("f", True, start + 13) == 10            # the count restarted at 1


def test_backoff_of_a_slow_failing_crawl_never_starts_the_next_one_at_once():
    forum = one_forum(every="30s")
    s = Scheduler()
    s.sync([forum], T0)
    s.started("f", T0)
    assert s.finished("f", True, T0 + 150) == 30              # overran its interval: still waits
    s.started("f", T0 + 180)
    assert s.finished("f", True, T0 + 181) == 60


def test_backoff_of_a_cron_forum_lands_on_a_fire():
    forum = one_forum(cron="*/10 * * * *")                    # interval 600 s
    s = Scheduler()
    s.sync([forum], T0)
    s.started("f", T0)
    s.finished("f", True, T0 + 60)
    s.started("f", T0 + 600)
    wait = s.finished("f", True, T0 + 660)                    # 2 intervals after 10:11: 10:31
    assert wait is not None and T0 + 660 + wait == T0 + 2400  # the next fire: 10:40


def test_a_restart_keeps_the_backoff_and_redoes_a_stopped_crawl(tmp_path):
    from crawler.daemon.runner import Daemon, Options, read_config
    from crawler.sinks.sqlite import SqliteStore

    cfg_path = write_config(tmp_path / "darkwatch.yml", [
        forum_entry("a", "http://127.0.0.1:9"), forum_entry("b", "http://127.0.0.1:9")])
    store = SqliteStore(str(tmp_path / "darkwatch.db"))
    try:
        for forum, status in (("a", "ok"), ("a", "failed"), ("a", "failed"), ("a", "stopped"),
                              ("b", "failed"), ("b", "ok")):
            store.finish_run(store.start_run(forum), status, {})
        with contextlib.closing(sqlite3.connect(tmp_path / "darkwatch.db")) as conn:
            rows = dict(conn.execute("SELECT id, started FROM runs").fetchall())
    finally:
        store.close()
    starts, failing = Daemon(Options(config=str(cfg_path)))._history(read_config(str(cfg_path))[1])
    assert starts == {"a": parse_ts(rows[3]), "b": parse_ts(rows[6])}  # not the stopped one
    assert list(failing) == ["a"] and failing["a"][0] == 2             # b succeeded since
    forum = one_forum(every="10s")
    s = Scheduler()
    s.sync([forum], T0, history={"f": T0 - 5}, failing={"f": (3, T0 - 2)})
    assert s.failures() == {"f": 3} and s.next_runs() == {"f": T0 - 2 + 40}


def test_a_forced_reload_rereads_rules_the_watcher_cannot_see_change(tmp_path, caplog):
    from crawler.daemon.runner import Daemon, Options

    rule = tmp_path / "rules" / "r.yml"
    rule.parent.mkdir()
    rule.write_text("id: 11111111-1111-4111-8111-111111111111\nname: r\ntitle: t\nlevel: high\n"
                    "detection:\n  patterns:\n    x: {keywords: [alpha]}\n")
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", "http://127.0.0.1:9")],
                       rules={"enabled": True, "paths": [str(rule.parent)],
                              "fingerprint_key": "k" * 32})
    daemon = Daemon(Options(config=str(cfg)))
    daemon.load()
    try:
        st = rule.stat()
        rule.write_text(rule.read_text().replace("level: high", "level: hig!"))  # same size
        os.utime(rule, ns=(st.st_atime_ns, st.st_mtime_ns))
        daemon.maybe_reload(time.time())
        assert "invalid rule set" not in caplog.text          # the watcher saw nothing
        daemon.maybe_reload(time.time(), force=True)           # what SIGHUP does
        assert "reload: invalid rule set, crawls will refuse to start" in caplog.text
        assert "r.yml" in caplog.text and daemon.metrics.config_ok is False
    finally:
        daemon.shutdown()
    assert not list(tmp_path.glob(".darkwatch.yml.daemon-*"))


def test_human_delays():
    assert [human(x) for x in (0, 12, 240, 5400, 90061)] == ["0s", "12s", "4m", "1h30m", "25h1m"]


def test_a_stopped_run_counts_its_pages_but_is_not_a_failure():
    state = MetricsState()
    stopped = SimpleNamespace(forum="f", status="stopped", pages=3, requests=4, posts_new=2,
                              posts_edited=0, errors={}, alerts_by_level={}, duration=1.0)
    record_crawl(state, SimpleNamespace(forums=[stopped]), T0)
    assert state.get("darkwatch_crawl_runs", ("f", "stopped")) == 1
    assert state.get("darkwatch_crawl_runs", ("f", "failed")) is None
    assert state.get("darkwatch_posts_new", ("f",)) == 2
    assert state.get("darkwatch_last_run_success", ("f",)) is None   # no failure recorded
    assert state.get("darkwatch_last_run_timestamp_seconds", ("f",)) is None


def test_collect_calls_a_shutdown_stopped():
    from crawler.crawl import collect

    forum = one_forum()
    for reason, status in (("shutdown", "stopped"), ("finished", "ok"), ("timeout", "failed")):
        stats = SimpleNamespace(get_stats=lambda r=reason: {"finish_reason": r})
        crawler = SimpleNamespace(stats=stats, spider=None)
        assert collect(forum, crawler).status == status, reason


def test_crawl_signal_handlers_are_put_back_when_scrapy_never_took_over():
    from crawler import interrupt

    before = {sig: signal.getsignal(sig) for sig in interrupt.STOP_SIGNALS}
    with interrupt.installed():
        assert all(signal.getsignal(sig) is not before[sig] for sig in before)
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_daemon_unit_reloads_with_sighup():
    service = UNIT.read_text().split("[Service]", 1)[1].split("\n[", 1)[0]
    assert "ExecReload=/bin/kill -HUP $MAINPID" in service.splitlines()


# --- a loopback forum that can hold or fail its board ---------------------------------------
class Handler(http.server.BaseHTTPRequestHandler):
    server: GateServer

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.server.arrived(self.path)
        if self.path == "/board":
            self.server.wait_if_held()
            if self.server.failing:
                self._send(404, b"gone")
                return
        body = PAGES.get(self.path)
        if body is None:
            self._send(404, b"not found")
            return
        self._send(200, body.encode())

    def _send(self, code: int, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class GateServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.cond = threading.Condition()
        self.hold = False
        self.failing = False
        self.waiting = 0
        self.generation = 0
        self.closing = False
        self.log: list[tuple[float, str]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def arrived(self, path: str) -> None:
        with self.cond:
            self.log.append((time.time(), path))

    def wait_if_held(self) -> None:
        with self.cond:
            if not self.hold:
                return
            gen = self.generation
            self.waiting += 1
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.generation != gen or self.closing, timeout=180)
            self.waiting -= 1

    def release_pending(self) -> None:
        """Answer the requests waiting now; later ones still wait while ``hold`` is set."""
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def open(self) -> None:
        self.hold = False
        self.release_pending()

    def wait_held(self, n: int, timeout: float, proc: subprocess.Popen, log: Path) -> None:
        wait_for(lambda: self.waiting >= n, timeout, f"{n} held board request(s)", proc, log)

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        self.shutdown()
        self.server_close()


@pytest.fixture
def gate():
    server = GateServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.close()


# --- process helpers ------------------------------------------------------------------------
def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"process exited {proc.returncode} while waiting for {what}:\n"
                                 f"{log.read_text()[-6000:]}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n{log.read_text()[-6000:]}")


def start_daemon(cfg: Path, tmp: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    """The daemon with its own TMPDIR (where the crawls' temporary report files go)."""
    (tmp / "tmp").mkdir(exist_ok=True)
    log = tmp / "daemon.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp / "tmp")}
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "run", "--daemon", "--direct", "-c", str(cfg),
             "--stop-timeout", "90", *extra],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env=env)
    return proc, log


@contextlib.contextmanager
def running(proc: subprocess.Popen):
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def child_pids(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"crawl started \(pid (\d+)\)", text)]


def runs(db: Path) -> list[tuple[str, str | None]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT forum, status FROM runs ORDER BY id").fetchall()


def textfile(path: Path) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_mid_crawl(proc: subprocess.Popen, log: Path, gate: GateServer, sig: int) -> None:
    """``sig`` to the daemon while its crawl waits on a held board page; the page is answered only
    once the crawl has taken the daemon's SIGTERM in (a crawl that finished first would prove
    nothing)."""
    mark = len(log.read_text())
    proc.send_signal(sig)
    wait_for(lambda: f"{signal.Signals(sig).name} received: stopping" in log.read_text()[mark:], 60,
             "the daemon to stop", proc, log)
    wait_for(lambda: "Received SIGTERM, shutting down gracefully" in log.read_text()[mark:], 60,
             "the crawl to take SIGTERM in", proc, log)
    gate.open()
    assert proc.wait(timeout=120) == 0, log.read_text()[-6000:]


def assert_clean_stop(tmp: Path, log: Path, sig: int) -> str:
    """Exit 0 already checked: the stopped crawl is `stopped` everywhere, nothing left behind."""
    text = log.read_text()
    assert f"{signal.Signals(sig).name} received: stopping" in text
    assert re.search(r"forum mini: crawl stopped \(exit 143\)", text), text[-6000:]
    assert "crawl finished, exit 1" not in text and "Traceback" not in text, text[-6000:]
    assert runs(tmp / "darkwatch.db")[-1] == ("mini", "stopped")
    m = textfile(tmp / "darkwatch.prom")
    assert m[("darkwatch_crawl_runs_total", (("forum", "mini"), ("status", "stopped")))] == 1
    assert ("darkwatch_crawl_runs_total", (("forum", "mini"), ("status", "failed"))) not in m
    assert m.get(("darkwatch_last_run_success", (("forum", "mini"),)), 1.0) == 1.0
    assert not list(tmp.glob(".darkwatch.yml.daemon-*")), "config snapshot left behind"
    assert list((tmp / "tmp").iterdir()) == [], "temporary report files left behind"
    pids = child_pids(text)
    assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)                                    # no orphan crawl
    locks = list(tmp.rglob("*.lock"))
    assert locks, "the crawl took no forum lock?"
    for lock in locks:                                        # every forum lock is free
        with open(lock, "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return text


# --- crawl: SIGTERM/SIGINT ------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_crawl_stopped_by_a_signal_is_stopped_not_failed(gate, tmp_path, sig):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", gate.base)])
    gate.hold = True
    log, report, prom = tmp_path / "crawl.log", tmp_path / "report.json", tmp_path / "c.prom"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--direct", "-c", str(cfg), "-v",
             "--report", str(report), "--metrics-file", str(prom)],
            cwd=REPO, stdout=err, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    with running(proc):
        gate.wait_held(1, 120, proc, log)
        proc.send_signal(sig)
        wait_for(lambda: f"Received {signal.Signals(sig).name}, shutting down" in log.read_text(), 60,
                 "Scrapy to take the signal in", proc, log)
        gate.open()
        assert proc.wait(timeout=120) == 128 + sig, log.read_text()
    text = log.read_text()
    assert f"stopped by {signal.Signals(sig).name}: mini interrupted" in text, text
    assert "mini: stopped," in text and "Traceback" not in text, text
    forum = json.loads(report.read_text())["forums"][0]
    assert forum["status"] == "stopped" and forum["finish_reason"] == "shutdown"
    assert runs(tmp_path / "darkwatch.db") == [("mini", "stopped")]
    m = textfile(prom)
    assert m[("darkwatch_crawl_last_exit_code", ())] == 128 + sig
    assert ("darkwatch_crawl_runs_total", (("forum", "mini"), ("status", "failed"))) not in m
    assert ("darkwatch_last_run_success", (("forum", "mini"),)) not in m


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_crawl_stopped_before_fetching_says_so_without_a_traceback(tmp_path, sig):
    """Stopped while it waits for Tor (a control port that accepts and never answers). stem
    swallows the ``Interrupted`` (a bare ``except:``) and waits on: the grace exit ends it."""
    silent = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    port = silent.getsockname()[1]
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", "http://127.0.0.1:9")],
                       tor={"socks": f"127.0.0.1:{port}", "control": f"127.0.0.1:{port}"})
    log, report = tmp_path / "crawl.log", tmp_path / "report.json"
    try:
        with open(log, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "crawler", "crawl", "-c", str(cfg), "--report", str(report)],
                cwd=REPO, stdout=err, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        with running(proc):
            wait_for(lambda: accepted, 120, "the crawl to reach Tor's control port", proc, log)
            proc.send_signal(sig)
            assert proc.wait(timeout=60) == 128 + sig, log.read_text()
    finally:
        for conn in accepted:
            conn.close()
        silent.close()
    text = log.read_text()
    assert f"stopped by {signal.Signals(sig).name}: nothing crawled" in text, text
    assert "Traceback" not in text and not report.exists(), text


# --- daemon: SIGTERM/SIGINT mid-crawl -------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_daemon_stopped_mid_crawl_exits_0_records_stopped_and_leaves_nothing(gate, tmp_path, sig):
    cfg = write_config(tmp_path / "darkwatch.yml", [{**forum_entry("mini", gate.base), "every": "1h"}])
    gate.hold = True
    proc, log = start_daemon(cfg, tmp_path, "-v", "--metrics-file", str(tmp_path / "darkwatch.prom"))
    with running(proc):
        gate.wait_held(1, 120, proc, log)                     # the crawl is in flight
        stop_mid_crawl(proc, log, gate, sig)
    assert_clean_stop(tmp_path, log, sig)


# --- daemon: SIGHUP during a crawl, then SIGTERM --------------------------------------------
@pytest.mark.integration
def test_sighup_during_a_crawl_reloads_and_the_daemon_lives_on_then_sigterm(gate, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [{**forum_entry("mini", gate.base), "every": "1h"}])
    port = free_port()
    gate.hold = True
    proc, log = start_daemon(cfg, tmp_path, "-v", "--metrics-file", str(tmp_path / "darkwatch.prom"),
                             "--metrics-addr", f"127.0.0.1:{port}")
    with running(proc):
        gate.wait_held(1, 120, proc, log)
        first = child_pids(log.read_text())
        assert len(first) == 1

        # An edit of the same size and mtime: the file watcher cannot see it, only SIGHUP can.
        st = cfg.stat()
        text = cfg.read_text()
        assert "every: 1h" in text
        cfg.write_text(text.replace("every: 1h", "every: 2s"))
        os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert (cfg.stat().st_mtime_ns, cfg.stat().st_size) == (st.st_mtime_ns, st.st_size)
        mark = len(log.read_text())
        proc.send_signal(signal.SIGHUP)
        hup = "SIGHUP received: re-reading the config and rules"
        reloaded = "reload: config reloaded, 1 forum(s) scheduled: mini"
        wait_for(lambda: reloaded in log.read_text()[mark:].partition(hup)[2], 60, "the reload",
                 proc, log)
        assert proc.poll() is None
        os.kill(first[0], 0)                                  # the crawl lives on...
        assert gate.waiting == 1                              # ...still waiting on its page
        gate.release_pending()                                # let it finish; hold the next one
        wait_for(lambda: "forum mini: crawl finished, exit 0, ok" in log.read_text(), 120,
                 "the first crawl to end normally", proc, log)

        # The new schedule is in effect: every 2s instead of 1h.
        gate.wait_held(1, 120, proc, log)
        pids = child_pids(log.read_text())
        assert len(pids) == 2
        m = scrape(port)
        assert m[("darkwatch_daemon_crawl_running", (("forum", "mini"),))] == 1
        assert m[("darkwatch_daemon_config_valid", ())] == 1
        assert m[("darkwatch_daemon_next_run_timestamp_seconds", (("forum", "mini"),))] < time.time() + 60
        stop_mid_crawl(proc, log, gate, signal.SIGTERM)
    text = assert_clean_stop(tmp_path, log, signal.SIGTERM)
    assert runs(tmp_path / "darkwatch.db") == [("mini", "ok"), ("mini", "stopped")]
    assert "SIGHUP received" in text


# --- daemon: backoff of a failing forum -----------------------------------------------------
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ crawler\.daemon: (.*)$", re.M)


def events(text: str) -> list[tuple[float, str]]:
    return [(datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f").timestamp(), msg)
            for t, msg in LINE.findall(text)]


@pytest.mark.integration
@pytest.mark.slow
def test_failing_forum_backs_off_exponentially_capped_then_returns_to_its_interval(
        gate, tmp_path, request):
    every, cap = 2.0, 4          # delays after failure 1, 2, 3, 4, 5: 2, 4, 8, 8, 8 s
    cfg = write_config(tmp_path / "darkwatch.yml", [{**forum_entry("mini", gate.base), "every": "2s"}])
    port = free_port()
    proc, log = start_daemon(cfg, tmp_path, "--backoff-max", str(cap), "--metrics-addr", f"127.0.0.1:{port}")
    with running(proc):
        wait_for(lambda: "forum mini: crawl finished, exit 0, ok" in log.read_text(), 120,
                 "a first good crawl", proc, log)
        gate.failing = True
        wait_for(lambda: "forum mini: failed 3 times in a row, next attempt in 8s" in log.read_text(),
                 240, "three failures", proc, log)
        m = scrape(port)                                      # 8 s before the next attempt
        seen = time.time()
        assert m[("darkwatch_daemon_consecutive_failures", (("forum", "mini"),))] == 3
        next_run = m[("darkwatch_daemon_next_run_timestamp_seconds", (("forum", "mini"),))]
        failed3 = [t for t, msg in events(log.read_text()) if "failed 3 times" in msg][0]
        assert abs(next_run - (failed3 + 8)) < 1.0 and next_run > seen
        wait_for(lambda: "forum mini: failed 5 times in a row, next attempt in 8s" in log.read_text(),
                 240, "five failures", proc, log)
        gate.failing = False
        wait_for(lambda: "forum mini: crawl ok after 5 failures, back to its normal schedule"
                 in log.read_text(), 120, "the recovery", proc, log)
        mark = len(log.read_text())
        wait_for(lambda: log.read_text()[mark:].count("forum mini: crawl finished, exit 0, ok") >= 2,
                 120, "two more good crawls", proc, log)
        m = scrape(port)
        assert m[("darkwatch_daemon_consecutive_failures", (("forum", "mini"),))] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0

    # Spacing, from the daemon's own log: start -> end (finished) -> next start.
    cycle: list[dict] = []
    for t, msg in events(log.read_text()):
        if msg.startswith("forum mini: crawl started"):
            cycle.append({"start": t})
        elif msg.startswith("forum mini: crawl finished"):
            cycle[-1].update(end=t, ok=", ok," in msg)
    cycle = [c for c in cycle if "end" in c]
    fails = [i for i, c in enumerate(cycle) if not c["ok"]]
    assert len(fails) == 5 and fails == list(range(fails[0], fails[0] + 5)), cycle
    slack = 5.0                  # the daemon's 0.5 s tick plus a busy machine
    gaps = []
    for n, i in enumerate(fails, start=1):
        wait = min(every * 2 ** (n - 1), every * cap)
        gap = cycle[i + 1]["start"] - cycle[i]["end"]         # end of failure n -> next attempt
        gaps.append(round(gap, 1))
        assert wait - 0.1 <= gap <= wait + slack, (n, gap, cycle)
    normal, idle = [], []
    for i in range(fails[-1] + 1, len(cycle) - 1):            # after the recovery
        due = max(cycle[i]["start"] + every, cycle[i]["end"])
        normal.append(round(cycle[i + 1]["start"] - cycle[i]["start"], 1))
        idle.append(round(cycle[i + 1]["start"] - cycle[i]["end"], 1))
        assert cycle[i + 1]["start"] >= cycle[i]["start"] + every - 0.1, cycle
        assert cycle[i + 1]["start"] - due <= slack, cycle
    assert normal, cycle
    figure(request, f"daemon backoff (every {every:g}s, cap {cap} intervals): failure end -> next "
                    f"attempt {gaps} s; after recovery start -> start {normal} s, end -> next "
                    f"start {idle} s")


def test_backoff_max_is_validated(tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", "http://127.0.0.1:9")])
    res = darkwatch("run", "--daemon", "--direct", "-c", str(cfg), "--backoff-max", "0.5", timeout=60)
    assert res.returncode == 2 and "--backoff-max must be at least 1" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
