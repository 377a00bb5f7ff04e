"""Tor control with stem: attach to a running tor or launch a private one, wait for bootstrap.

Called by the crawl runner before the reactor starts (stem calls block; the launch
timeout uses SIGALRM, main thread only). Errors are ``TorUnavailable`` with a message
that says what to do; the runner turns them into exit code 3.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.config.tor import TorConfig
from crawler.netpolicy import parse_hostport

logger = logging.getLogger(__name__)
_KEEP = bool(__import__("os").environ.get("DARKWATCH_KEEP_TOR_DATA"))
INSTALL_HINT = "install it: sudo apt-get install -y tor (Debian/Ubuntu) or brew install tor (macOS)"


class TorUnavailable(Exception):
    """Tor cannot be used; the message says why and how to fix it."""


@dataclass
class TorSession:
    """What the crawl needs from Tor: the SOCKS address, and a way to stop what we started."""

    mode: str
    socks: str
    control: str | None
    version: str = ""
    password: str | None = field(default=None, repr=False)
    process: Any = None  # subprocess.Popen of a launched tor
    data_dir: str | None = None
    owner: Any = None  # launch mode: the controller that owns tor (tor exits when it closes)
    launch_conf: dict[str, Any] | None = field(default=None, repr=False)
    tor_cmd: str = "tor"
    restarts: int = 0
    _last_newnym: float = 0.0
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start_watchdog(self, interval: float = 1.0) -> None:
        """Launch mode: if our tor dies mid-crawl, start it again on the same ports.

        A plain thread, not the reactor (stem blocks); requests failing meanwhile get
        TorSocksError and are retried by Scrapy's retry with backoff.
        """
        threading.Thread(target=self._watch, args=(interval,), daemon=True,
                         name="tor-watchdog").start()

    def _watch(self, interval: float) -> None:
        import stem.process

        while not self._closing.wait(interval):
            with self._lock:
                proc = self.process
                if proc is None or proc.poll() is None or self.launch_conf is None:
                    continue
                logger.warning("tor (pid %s) exited with %s; restarting it on %s",
                               proc.pid, proc.returncode, self.socks)
                with contextlib.suppress(Exception):
                    self.owner.close()
                self.owner = None
                try:
                    new = stem.process.launch_tor_with_config(
                        config=self.launch_conf, tor_cmd=self.tor_cmd, completion_percent=100,
                        timeout=None, take_ownership=True, close_output=False)
                except OSError as exc:
                    logger.error("restarting tor failed: %s (retrying)", exc)
                    continue
                threading.Thread(target=_drain, args=(new.stdout,), daemon=True).start()
                self.process = new
                self.restarts += 1
                with contextlib.suppress(Exception):
                    self.owner = self.controller()

    def controller(self) -> Any:
        if not self.control:
            raise TorUnavailable("no control port configured (tor.control)")
        return open_controller(self.control, self.password)

    def newnym(self) -> float:
        """Signal NEWNYM (global to this tor) if Tor allows it now; returns seconds to wait
        before it takes effect (0 = done). Blocking: call from a thread, not the reactor."""
        from stem import Signal

        with self.controller() as c:
            if not c.is_newnym_available():
                return max(c.get_newnym_wait(), 0.1)
            c.signal(Signal.NEWNYM)
            self._last_newnym = time.monotonic()
            return 0.0

    def close(self) -> None:
        """Stop a tor we launched (attached tors are left alone)."""
        self._closing.set()
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self.owner is not None:
            with contextlib.suppress(Exception):
                self.owner.close()
            self.owner = None
        if self.process is not None:
            with contextlib.suppress(Exception):
                self.process.terminate()
                self.process.wait(timeout=10)
            with contextlib.suppress(Exception):
                self.process.kill()
            self.process = None
        if self.data_dir and not _KEEP:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


CONTROL_ANSWER_TIMEOUT = 10.0


def probe_control_port(control: str, timeout: float = CONTROL_ANSWER_TIMEOUT) -> None:
    """Fail fast when something listens on the control port but never speaks Tor's protocol.

    stem waits for the PROTOCOLINFO reply without a timeout, so a port that accepts and stays
    silent (a wrong port, a hung tor) would hang the crawl for ever. PROTOCOLINFO is allowed
    before authentication; this throw-away connection asks it once and closes.
    """
    host, port = parse_hostport(control)
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PROTOCOLINFO 1\r\n")
            reply = s.recv(64)
    except TimeoutError:
        raise TorUnavailable(
            f"Tor's control port {control} accepted the connection but did not answer within "
            f"{timeout:.0f}s: is it really tor's ControlPort (see deploy/tor/torrc), or is tor "
            "hung?") from None
    except OSError as exc:
        raise TorUnavailable(
            f"cannot reach Tor's control port {control} ({exc.strerror or exc}); is tor running "
            f"with 'ControlPort {port}'? (see deploy/tor/torrc)") from None
    if not reply.startswith((b"250", b"5")):
        raise TorUnavailable(f"{control} does not speak Tor's control protocol (it answered "
                             f"{reply[:20]!r}): check tor.control")


def open_controller(control: str, password: str | None) -> Any:
    """Connected, authenticated stem Controller (cookie/safecookie, or password)."""
    import stem
    import stem.connection
    from stem.control import Controller

    host, port = parse_hostport(control)
    probe_control_port(control)
    try:
        c = Controller.from_port(address=host, port=port)
    except stem.SocketError as exc:
        raise TorUnavailable(
            f"cannot reach Tor's control port {control} ({exc}); is tor running with "
            f"'ControlPort {port}'? (see deploy/tor/torrc)") from None
    try:
        c.authenticate(password=password)
    except stem.connection.MissingPassword:
        c.close()
        raise TorUnavailable(f"Tor's control port {control} wants a password: set tor.password "
                             "(e.g. password: ${TOR_CONTROL_PASSWORD})") from None
    except stem.connection.PasswordAuthFailed:
        c.close()
        raise TorUnavailable(f"Tor's control port {control} rejected the password "
                             "(check TOR_CONTROL_PASSWORD against HashedControlPassword)") from None
    except stem.connection.AuthenticationFailure as exc:
        c.close()
        raise TorUnavailable(f"cannot authenticate to Tor's control port {control}: {exc} "
                             "(cookie auth needs read access to tor's control_auth_cookie: add "
                             "your user to the debian-tor group, or use a password)") from None
    return c


def bootstrap_status(controller: Any) -> tuple[int, str]:
    """(percent, summary) from ``status/bootstrap-phase``."""
    phase = controller.get_info("status/bootstrap-phase", "")
    pct, summary = 0, phase
    for token in phase.split():
        if token.startswith("PROGRESS="):
            with contextlib.suppress(ValueError):
                pct = int(token.split("=", 1)[1])
    if 'SUMMARY="' in phase:
        summary = phase.split('SUMMARY="', 1)[1].split('"', 1)[0]
    return pct, summary


def wait_bootstrap(controller: Any, timeout: float, progress: Callable[[str], None],
                   where: str) -> None:
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        pct, summary = bootstrap_status(controller)
        if pct != last:
            progress(f"tor: bootstrapped {pct}% ({summary})")
            last = pct
        if pct >= 100:
            return
        if time.monotonic() > deadline:
            raise TorUnavailable(
                f"Tor at {where} did not finish bootstrapping within {timeout:.0f}s "
                f"(stuck at {pct}%: {summary}); check its log and network, or raise "
                "tor.bootstrap_timeout")
        time.sleep(0.5)


def check_socks(socks_addr: str, timeout: float = 5.0) -> None:
    """The SOCKS port accepts a SOCKS5 greeting (no request is sent anywhere)."""
    host, port = parse_hostport(socks_addr)
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"\x05\x01\x00")
            reply = s.recv(2)
    except OSError as exc:
        raise TorUnavailable(f"cannot reach Tor's SOCKS port {socks_addr} ({exc}); is tor running? "
                             "(sudo systemctl start tor)") from None
    if reply[:1] != b"\x05":
        raise TorUnavailable(f"{socks_addr} is not a SOCKS5 port (is it Tor's SocksPort?)")


def tor_version(controller: Any) -> str:
    with contextlib.suppress(Exception):
        return str(controller.get_version()).split()[0]
    return "?"


_ACTIVE: TorSession | None = None


def active_session() -> TorSession | None:
    """The session ensure_tor_ready made in this process (launch mode has random ports)."""
    return _ACTIVE if _ACTIVE is not None and not _ACTIVE._closing.is_set() else None


def ensure_tor_ready(cfg: TorConfig, progress: Callable[[str], None] = lambda s: None) -> TorSession:
    """Attach (system) or launch (launch), wait for bootstrap 100%; raise TorUnavailable."""
    global _ACTIVE
    session = _ensure(cfg, progress)
    _ACTIVE = session
    return session


def _ensure(cfg: TorConfig, progress: Callable[[str], None]) -> TorSession:
    if cfg.mode == "launch":
        return launch_tor(cfg, progress)
    try:
        parse_hostport(cfg.socks)
    except ValueError as exc:
        raise TorUnavailable(f"tor.socks: {exc}") from None
    version = ""
    if cfg.control:
        with open_controller(cfg.control, cfg.password) as c:
            version = tor_version(c)
            wait_bootstrap(c, cfg.bootstrap_timeout, progress, cfg.control)
    check_socks(cfg.socks)
    progress(f"tor: ready (SOCKS {cfg.socks}{', tor ' + version if version else ''})")
    return TorSession("system", cfg.socks, cfg.control, version, password=cfg.password)


def launch_config(socks_port: int, control_port: int, data_dir: str,
                  extra: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    conf: dict[str, str | list[str]] = {
        "SocksPort": f"127.0.0.1:{socks_port} IsolateSOCKSAuth ExtendedErrors",
        "ControlPort": f"127.0.0.1:{control_port}",
        "CookieAuthentication": "1",
        "DataDirectory": data_dir,
        "AvoidDiskWrites": "1",
        "Log": ["notice stdout", f"notice file {data_dir}/notice.log"],  # stem reads stdout
    }
    conf.update(extra)
    return conf


def launch_tor(cfg: TorConfig, progress: Callable[[str], None]) -> TorSession:
    import stem.process

    binary = shutil.which(cfg.tor_binary)
    if not binary:
        raise TorUnavailable(f"'{cfg.tor_binary}' not found: {INSTALL_HINT}")
    from crawler.netpolicy import free_ports

    socks_port, control_port = free_ports(2)
    data_dir = tempfile.mkdtemp(prefix="darkwatch-tor-")
    conf = launch_config(socks_port, control_port, data_dir, dict(cfg.torrc))
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    progress(f"tor: launching {binary} (data dir {data_dir})")
    try:
        proc = stem.process.launch_tor_with_config(
            config=conf, tor_cmd=binary, completion_percent=100,
            init_msg_handler=lambda line: _launch_progress(line, progress),
            timeout=cfg.bootstrap_timeout if main else None, take_ownership=True,
            # stem closes tor's stdout by default once bootstrapped; tor then dies on its
            # next log line. Keep it open and drain it in a thread instead.
            close_output=False,
        )
        threading.Thread(target=_drain, args=(proc.stdout,), daemon=True,
                         name="tor-stdout").start()
    except OSError as exc:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise TorUnavailable(f"launching tor failed: {exc}") from None
    session = TorSession("launch", f"127.0.0.1:{socks_port}", f"127.0.0.1:{control_port}",
                         process=proc, data_dir=data_dir, launch_conf=conf, tor_cmd=binary)
    atexit.register(session.close)
    try:
        # stem's first controller from this process sends TAKEOWNERSHIP: keep it open for
        # the session, so tor exits by itself if darkwatch dies without cleaning up.
        session.owner = session.controller()
        session.version = tor_version(session.owner)
    except TorUnavailable:
        session.close()
        raise
    session.start_watchdog()
    progress(f"tor: launched, SOCKS {session.socks}")
    return session


def _drain(stream: Any) -> None:
    with contextlib.suppress(Exception):
        while stream.read(65536):
            pass


def _launch_progress(line: str, progress: Callable[[str], None]) -> None:
    if "Bootstrapped" in line:
        progress("tor: " + line.split("] ", 1)[-1])
