"""The daemon loop: start due crawls as child processes, reap them, reload edited configs, stop cleanly.

Children run ``darkwatch crawl -c SNAPSHOT --forum NAME --report FILE``. SNAPSHOT is a private copy
(beside the config, so relative paths resolve the same) of the last config text that validated: a
broken edit of the config is rejected by the daemon *and* never reaches a crawl. Rule files are
read by each crawl; a broken rule edit is reported here at once (crawls refuse until it is fixed).
SIGHUP re-reads both at once (systemd's ``ExecReload``). A failed crawl backs its forum off
(``scheduler.backoff_delay``). Signal handlers only set flags: the loop logs and acts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.config import Config, ConfigError
from crawler.config.loader import parse_config, read_config_text
from crawler.daemon.metrics import DaemonMetrics
from crawler.daemon.scheduler import DEFAULT_BACKOFF_MAX, Scheduler

logger = logging.getLogger("crawler.daemon")
HISTORY_LIMIT = 20000
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# A crawl stopped by SIGTERM/SIGINT exits 128+N (``crawler.interrupt``): not a failure.
STOPPED_CODES = {128 + s for s in STOP_SIGNALS} | {-s for s in STOP_SIGNALS}


@dataclass
class Options:
    config: str
    direct: bool = False
    metrics_file: str | None = None
    max_parallel: int = 2
    stop_timeout: float = 30.0  # seconds between SIGTERM and SIGKILL for running crawls
    tick: float = 0.5  # seconds between looks at children, the clock and the config's mtime
    backoff_max: float = DEFAULT_BACKOFF_MAX  # a failing forum waits at most this many intervals
    child_args: list[str] = field(default_factory=list)  # e.g. -v, --log-format json


@dataclass
class Child:
    forum: str
    proc: subprocess.Popen[bytes]
    report: str
    started: float


def human(seconds: float) -> str:
    """``4m``, ``1h30m``, ``12s``: a delay for a log line."""
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v]
    return "".join(parts[:2]) or "0s"


def signame(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # a real-time signal
        return f"signal {signum}"


def read_config(path: str) -> tuple[str, Config]:
    """The config's text and its validated form (the text is what the snapshot keeps)."""
    p = Path(path)
    text = read_config_text(p)  # bounded, regular file, UTF-8: as every command reads it
    return text, parse_config(text, str(p), p.resolve().parent)


def check_rules(cfg: Config) -> None:
    """Raise ``RuleError`` when the crawls would refuse the rule set."""
    if cfg.rules.enabled:
        from crawler.rules.post import PostRules

        PostRules.from_config(cfg.rules)


def watch_key(path: str, cfg: Config | None) -> tuple[Any, ...]:
    """Changes when the config file or any rule file (added, removed, edited) changes."""
    try:
        st = os.stat(path)
        key: tuple[Any, ...] = (st.st_mtime_ns, st.st_size)
    except OSError:
        key = (None,)
    if cfg is not None and cfg.rules.enabled:
        from crawler.rules.loader import mtimes

        key += tuple(sorted(mtimes(cfg.rules.paths).items()))
    return key


class Daemon:
    def __init__(self, opts: Options, metrics: DaemonMetrics | None = None) -> None:
        self.opts = opts
        self.metrics = metrics or DaemonMetrics()
        self.scheduler = Scheduler(opts.backoff_max)
        self.children: dict[str, Child] = {}
        self.stop = threading.Event()
        self.stop_signal: int | None = None
        self.hup = threading.Event()
        self.cfg: Config | None = None
        self.key: tuple[Any, ...] | None = None
        self.rejected: tuple[Any, ...] | None = None
        self.snapshot: str | None = None
        self.codes: list[int] = []

    # -- config ------------------------------------------------------------------------------
    def load(self) -> Config:
        """First load: errors propagate (``ConfigError``/``RuleError``): the CLI exits 2."""
        text, cfg = read_config(self.opts.config)
        check_rules(cfg)
        now = time.time()
        self._adopt(text, cfg, now, *self._history(cfg))
        for name, n in self.scheduler.failures().items():
            if n:
                logger.warning("forum %s: failed %d time%s in a row before this start, next attempt "
                               "in %s", name, n, "" if n == 1 else "s",
                               human(self.scheduler.next_runs()[name] - now), extra={"forum": name})
        return cfg

    def maybe_reload(self, now: float, force: bool = False) -> None:
        """Reload when the config or a rule file changed (``force``: SIGHUP, whatever changed)."""
        key = watch_key(self.opts.config, self.cfg)
        if not force and key in (self.key, self.rejected):
            return
        from crawler.rules.errors import RuleError

        try:
            text, cfg = read_config(self.opts.config)
            check_rules(cfg)
        except (ConfigError, RuleError) as exc:
            self.rejected = key
            with self.metrics.lock:
                self.metrics.reload_failures += 1
                self.metrics.config_ok = False
            what = "config" if isinstance(exc, ConfigError) else "rule set"
            problems = "\n".join(f"  {p}" for p in exc.problems)
            tail = ("keeping the previous config" if isinstance(exc, ConfigError)
                    else "crawls will refuse to start until the rules are fixed")
            logger.error("reload: invalid %s, %s:\n%s", what, tail, problems)
            return
        self._adopt(text, cfg, now)
        with self.metrics.lock:
            self.metrics.config_ok = True
        enabled = [f.name for f in cfg.forums if f.enabled]
        logger.info("reload: config reloaded, %d forum(s) scheduled: %s", len(enabled), ", ".join(enabled))

    def _adopt(self, text: str, cfg: Config, now: float, history: dict[str, float] | None = None,
               failing: dict[str, tuple[int, float]] | None = None) -> None:
        self.cfg, self.rejected = cfg, None
        self.key = watch_key(self.opts.config, cfg)
        self.snapshot = self._write_snapshot(text)
        self.scheduler.sync(cfg.forums, now, history, failing)
        self._publish()

    def _write_snapshot(self, text: str) -> str | None:
        src = Path(self.opts.config).resolve()
        target = src.with_name(f".{src.name}.daemon-{os.getpid()}")
        try:
            fd, tmp = tempfile.mkstemp(dir=src.parent, prefix=target.name + ".")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: mode 0600
                fh.write(text)
            os.replace(tmp, target)
        except OSError as exc:
            if self.snapshot is None:
                logger.warning("cannot keep a copy of the config beside it (%s): crawls read %s "
                               "itself, so a broken edit makes them refuse until it is fixed",
                               exc, self.opts.config)
            return None
        return str(target)

    def _history(self, cfg: Config) -> tuple[dict[str, float], dict[str, tuple[int, float]]]:
        """From the store's runs, so a restart neither crawls everything at once nor forgets a
        failing forum's backoff: the last start per forum (a stopped crawl does not count: it is
        redone) and, per failing forum, (failed crawls in a row, end of the last). Also seeds the
        last-success gauges."""
        path = cfg.store.sqlite
        if path == ":memory:" or not os.path.exists(path):
            return {}, {}
        from crawler.metrics import fill_last_successes
        from crawler.monitoring import parse_ts
        from crawler.sinks.sqlite import SqliteStore

        store = SqliteStore(path)
        try:
            runs = store.last_runs(limit=HISTORY_LIMIT)
            with self.metrics.lock:
                fill_last_successes(self.metrics.state, store)
        finally:
            store.close()
        starts: dict[str, float] = {}
        failing: dict[str, tuple[int, float]] = {}
        settled: set[str] = set()  # forums whose run of failures is counted
        for run in runs:  # newest first
            forum, status = run.get("forum"), run.get("status")
            ts = parse_ts(run.get("started"))
            if not forum or ts is None or status == "stopped":
                continue
            starts.setdefault(forum, ts)
            if forum in settled or status is None:  # None: still running, or killed
                continue
            if status == "failed":
                count, ended = failing.get(forum, (0, parse_ts(run.get("finished")) or ts))
                failing[forum] = (count + 1, ended)
            else:
                settled.add(forum)
        return starts, failing

    # -- children ----------------------------------------------------------------------------
    def spawn(self, forum: Any, now: float) -> None:
        fd, report = tempfile.mkstemp(prefix=f"darkwatch-{forum.name}-", suffix=".json")
        os.close(fd)
        cmd = [sys.executable, "-m", "crawler", "crawl", "-c", self.snapshot or self.opts.config,
               "--forum", forum.name, "--report", report, "-q", *self.opts.child_args]
        if self.opts.direct:
            cmd.append("--direct")
        # Own process group: a terminal's Ctrl-C reaches the daemon only; it stops children itself.
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, process_group=0)
        except OSError as exc:  # no fork (memory, pids): this forum waits; the daemon lives on
            with contextlib.suppress(OSError):
                os.unlink(report)
            self.scheduler.started(forum.name, now)
            logger.error("forum %s: crawl not started: %s", forum.name, exc, extra={"forum": forum.name})
            return
        self.children[forum.name] = Child(forum.name, proc, report, now)
        self.scheduler.started(forum.name, now)
        logger.info("forum %s: crawl started (pid %d)", forum.name, proc.pid, extra={"forum": forum.name})

    def reap(self, now: float) -> None:
        for name, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None:
                continue
            del self.children[name]
            self._finished(child, code, now)

    def _finished(self, child: Child, code: int, now: float) -> None:
        report = None
        with contextlib.suppress(OSError, ValueError), open(child.report, encoding="utf-8") as fh:
            report = json.load(fh)
        with contextlib.suppress(OSError):
            os.unlink(child.report)
        f = ((report or {}).get("forums") or [{}])[0]
        status = f.get("status")
        extra = {"forum": child.forum}
        if status == "stopped" or (report is None and (self.stop.is_set() or code in STOPPED_CODES)):
            # SIGTERM/SIGINT (ours at shutdown, or an operator's): not a failure of the forum.
            how = f"exit {code}" if code >= 0 else f"killed by {signame(-code)}"
            logger.info("forum %s: crawl stopped (%s), %d pages, %d new posts, %.1fs", child.forum,
                        how, f.get("pages", 0), f.get("posts_new", 0), now - child.started, extra=extra)
            if report is not None:
                self.metrics.record_report(child.forum, report, None, now)
                self._write_textfile()
            return
        self.codes.append(code if code >= 0 else 1)
        self.metrics.record_report(child.forum, report, code, now)
        self._write_textfile()
        logger.info("forum %s: crawl finished, exit %d, %s, %d pages, %d new posts, %d alerts, %.1fs",
                    child.forum, code, status or "no report", f.get("pages", 0),
                    f.get("posts_new", 0), f.get("alerts", 0), now - child.started, extra=extra)
        if status == "skipped":
            return  # another crawl of the forum was running: it reports
        before = self.scheduler.failures().get(child.forum, 0)
        wait = self.scheduler.finished(child.forum, status != "ok", now)
        if wait is not None:
            n = self.scheduler.failures()[child.forum]
            logger.warning("forum %s: failed %d time%s in a row, next attempt in %s", child.forum, n,
                           "" if n == 1 else "s", human(wait), extra=extra)
        elif before:
            logger.info("forum %s: crawl ok after %d failure%s, back to its normal schedule",
                        child.forum, before, "" if before == 1 else "s", extra=extra)

    def _write_textfile(self) -> None:
        if self.opts.metrics_file:
            try:
                self.metrics.write_textfile(self.opts.metrics_file)
            except OSError as exc:
                logger.warning("metrics file %s not updated: %s", self.opts.metrics_file, exc)

    def _publish(self) -> None:
        with self.metrics.lock:
            self.metrics.running = set(self.children)
            self.metrics.next_runs = self.scheduler.next_runs()
            self.metrics.failures = self.scheduler.failures()

    # -- loop --------------------------------------------------------------------------------
    def install_signals(self) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reloads. The handlers only set flags (logging from a signal
        handler can re-enter a stream being written)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop(self, signum: int, _frame: Any = None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        self.stop.set()

    def _on_hup(self, _signum: int, _frame: Any = None) -> None:
        self.hup.set()

    def run(self, once: bool = False) -> int:
        """Schedule until a signal (exit 0); ``once``: start what is due now, wait for it, return the
        worst crawl exit code. Whatever happens, running crawls are stopped and files removed."""
        try:
            if self.cfg is None:
                self.load()
            self._loop(once)
        finally:
            if self.stop_signal is not None:
                logger.info("%s received: stopping", signame(self.stop_signal))
            self.shutdown()
        if self.stop.is_set() or not once:
            return 0
        return max(self.codes, default=0)

    def _loop(self, once: bool) -> None:
        pending = {f.name for f in self.scheduler.due(time.time())} if once else set()
        while not self.stop.is_set():
            now = time.time()
            self.reap(now)
            if self.hup.is_set():
                self.hup.clear()
                if once:
                    logger.info("SIGHUP received: ignored by --once")
                else:
                    logger.info("SIGHUP received: re-reading the config and rules")
                    self.maybe_reload(now, force=True)
            elif not once:
                self.maybe_reload(now)
            for forum in self.scheduler.due(now, self.children):
                if len(self.children) >= self.opts.max_parallel:
                    break
                if once and forum.name not in pending:
                    continue
                pending.discard(forum.name)
                self.spawn(forum, now)
            self._publish()
            if once and not pending and not self.children:
                break
            self.stop.wait(self.opts.tick)

    def shutdown(self) -> None:
        """SIGTERM to running crawls (Scrapy stops gracefully, locks are released), SIGKILL after
        ``stop_timeout``; then remove the config snapshot."""
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                child.proc.terminate()
        deadline = time.monotonic() + self.opts.stop_timeout
        for child in self.children.values():
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("forum %s: crawl did not stop in %.0fs, killed", child.forum,
                               self.opts.stop_timeout)
                child.proc.kill()
                child.proc.wait()
        self.reap(time.time())
        self._publish()
        if self.snapshot:
            with contextlib.suppress(OSError):
                os.unlink(self.snapshot)
            self.snapshot = None
