"""The daemon loop: start due crawls as child processes, reap them, reload edited configs, stop cleanly.

Children run ``darkwatch crawl -c SNAPSHOT --forum NAME --report FILE``. SNAPSHOT is a private copy
(beside the config, so relative paths resolve the same) of the last config text that validated: a
broken edit of the config is rejected by the daemon *and* never reaches a crawl. Rule files are
read by each crawl; a broken rule edit is reported here at once (crawls refuse until it is fixed).
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
from crawler.config.loader import Problem, parse_config
from crawler.daemon.metrics import DaemonMetrics
from crawler.daemon.scheduler import Scheduler

logger = logging.getLogger("crawler.daemon")
HISTORY_LIMIT = 20000


@dataclass
class Options:
    config: str
    direct: bool = False
    metrics_file: str | None = None
    max_parallel: int = 2
    stop_timeout: float = 30.0  # seconds between SIGTERM and SIGKILL for running crawls
    tick: float = 0.5  # seconds between looks at children, the clock and the config's mtime
    child_args: list[str] = field(default_factory=list)  # e.g. -v, --log-format json


@dataclass
class Child:
    forum: str
    proc: subprocess.Popen[bytes]
    report: str
    started: float


def read_config(path: str) -> tuple[str, Config]:
    """The config's text and its validated form (the text is what the snapshot keeps)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(p), 1, 1, "", f"cannot read config: {exc}")]) from None
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
        self.scheduler = Scheduler()
        self.children: dict[str, Child] = {}
        self.stop = threading.Event()
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
        self._adopt(text, cfg, time.time(), history=self._history(cfg))
        return cfg

    def maybe_reload(self, now: float) -> None:
        key = watch_key(self.opts.config, self.cfg)
        if key in (self.key, self.rejected):
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

    def _adopt(self, text: str, cfg: Config, now: float, history: dict[str, float] | None = None) -> None:
        self.cfg, self.rejected = cfg, None
        self.key = watch_key(self.opts.config, cfg)
        self.snapshot = self._write_snapshot(text)
        self.scheduler.sync(cfg.forums, now, history)
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

    def _history(self, cfg: Config) -> dict[str, float]:
        """Last start per forum from the store (so a restart does not crawl everything at once);
        also seeds the last-success gauges."""
        path = cfg.store.sqlite
        if path == ":memory:" or not os.path.exists(path):
            return {}
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
        out: dict[str, float] = {}
        for run in runs:  # newest first
            ts = parse_ts(run.get("started"))
            if run.get("forum") and ts is not None:
                out.setdefault(run["forum"], ts)
        return out

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
        if report is None and self.stop.is_set():
            # Interrupted by our own shutdown: not a failure of the forum.
            logger.info("forum %s: crawl stopped (exit %d)", child.forum, code, extra={"forum": child.forum})
            return
        self.codes.append(code if code >= 0 else 1)
        self.metrics.record_report(child.forum, report, code, now)
        if self.opts.metrics_file:
            try:
                self.metrics.write_textfile(self.opts.metrics_file)
            except OSError as exc:
                logger.warning("metrics file %s not updated: %s", self.opts.metrics_file, exc)
        forums = (report or {}).get("forums") or [{}]
        f = forums[0]
        logger.info("forum %s: crawl finished, exit %d, %s, %d pages, %d new posts, %d alerts, %.1fs",
                    child.forum, code, f.get("status", "no report"), f.get("pages", 0),
                    f.get("posts_new", 0), f.get("alerts", 0), now - child.started,
                    extra={"forum": child.forum})

    def _publish(self) -> None:
        with self.metrics.lock:
            self.metrics.running = set(self.children)
            self.metrics.next_runs = self.scheduler.next_runs()

    # -- loop --------------------------------------------------------------------------------
    def install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self._on_signal(signum))

    def _on_signal(self, signum: int) -> None:
        if not self.stop.is_set():
            logger.info("%s received: stopping", signal.Signals(signum).name)
        self.stop.set()

    def run(self, once: bool = False) -> int:
        """Schedule until a signal (exit 0); ``once``: start what is due now, wait for it, return the
        worst crawl exit code."""
        if self.cfg is None:
            self.load()
        pending = {f.name for f in self.scheduler.due(time.time())} if once else set()
        while not self.stop.is_set():
            now = time.time()
            self.reap(now)
            if not once:
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
        stopped = self.stop.is_set()
        self.shutdown()
        if stopped or not once:
            return 0
        return max(self.codes, default=0)

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
