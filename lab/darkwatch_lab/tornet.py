"""Private Tor network on loopback for tests and the demo: ``TorLab(dir).up()`` / ``.down()``.

Eight ``tor`` processes (3 authorities, 3 relays, 1 client, 1 onion-service host), each in
its own process group with its own DataDirectory, plus (optionally) the fixture forum. The
state (PIDs, ports, onion name) is written to ``<dir>/lab.json`` so that ``darkwatch lab
down`` in another process can tear it all down; a ready ``<dir>/lab.yml`` points darkwatch
at the lab client and the onion forum.

Cleanup is layered: ``down()``; an ``atexit`` hook and SIGTERM handling for the owning
process (unless ``detach=True``, as for ``darkwatch lab up``); and ``down`` kills by
recorded PID and process group, checking first that the process runs in (or names) the
node's data dir, so a recycled PID is never hit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crawler.netpolicy import free_ports
from darkwatch_lab import tor_torrc as rc

N_AUTHORITIES = 3
N_RELAYS = 3
STATE_FILE = "lab.json"
CONFIG_FILE = "lab.yml"
DEFAULT_DIR = ".darkwatch/lab"


class LabError(Exception):
    """The lab could not start (message says why and what to do)."""


@dataclass
class NodeState:
    name: str
    role: str  # authority | relay | client | onion | forum
    pid: int
    datadir: str
    control: int | None = None
    socks: int | None = None
    orport: int | None = None
    dirport: int | None = None


@dataclass
class LabState:
    dir: str
    onion: str
    socks: str
    control: str
    forum_port: int
    forum_started: bool
    nodes: list[NodeState] = field(default_factory=list)
    started: float = 0.0
    ready_seconds: float = 0.0

    @property
    def onion_url(self) -> str:
        return f"http://{self.onion}"

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> LabState:
        data = json.loads(path.read_text())
        data["nodes"] = [NodeState(**n) for n in data["nodes"]]
        return cls(**data)


def tor_binary(name: str = "tor") -> str:
    path = shutil.which(name)
    if not path:
        raise LabError(f"'{name}' not found: install Tor (Debian/Ubuntu: sudo apt-get install -y tor; "
                       "macOS: brew install tor)")
    if not shutil.which("tor-gencert"):
        raise LabError("'tor-gencert' not found: it ships with Debian's tor package "
                       "(sudo apt-get install -y tor)")
    return path


class TorLab:
    """A private Tor network with the fixture forum as an onion service."""

    def __init__(self, directory: str | os.PathLike[str] = DEFAULT_DIR, tor: str = "tor") -> None:
        self.dir = Path(directory).resolve()
        self.tor_name = tor
        self.state: LabState | None = None
        self._procs: list[subprocess.Popen[bytes]] = []
        self._atexit = False

    # -- public API -------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_FILE

    def up(self, forum_port: int | None = None, timeout: float = 150.0, detach: bool = False,
           progress: Callable[[str], None] = lambda s: None,
           extra_ports: dict[int, int] | None = None) -> LabState:
        """Start the network and wait until the onion service answers through the client.

        ``forum_port``: a local HTTP server the onion service points at; when None the
        fixture forum is started (``python -m darkwatch_lab.forum``). ``detach``: leave the
        processes running when this Python process exits (``darkwatch lab up``).
        ``extra_ports``: more {onion virtual port: local port} on the same onion (tests).
        """
        tor = tor_binary(self.tor_name)
        if self.state_path.exists():
            old = LabState.load(self.state_path)
            if any(_alive(n.pid, n.datadir) for n in old.nodes):
                raise LabError(f"a lab is already running from {self.dir} "
                               "(run 'darkwatch lab down' first)")
            self._wipe()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        if not detach and not self._atexit:
            atexit.register(self.down)
            self._atexit = True
        t0 = time.monotonic()
        try:
            return self._up(tor, forum_port, timeout, progress, t0, extra_ports or {})
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Kill every lab process (ours or recorded in lab.json); idempotent."""
        state = self.state
        if state is None and self.state_path.exists():
            with contextlib.suppress(Exception):
                state = LabState.load(self.state_path)
        nodes = list(state.nodes) if state else []
        pids = {n.pid for n in nodes}
        for p in self._procs:  # our own children not in the state (a restarted node's old self)
            if p.pid not in pids and p.poll() is None:  # unreaped: the PID is still this child's
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGTERM)
        for n in nodes:
            _signal_group(n.pid, n.datadir, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for n in nodes:
            while _alive(n.pid, n.datadir) and time.monotonic() < deadline:
                _reap(n.pid)
                time.sleep(0.05)
            if _alive(n.pid, n.datadir):
                _signal_group(n.pid, n.datadir, signal.SIGKILL)
        for p in self._procs:
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()  # Popen signals only an unreaped child: never a recycled PID
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=2)
        self._procs.clear()
        if self.state_path.exists():
            with contextlib.suppress(OSError):
                self.state_path.unlink()
        self.state = None

    def status(self) -> dict[str, object]:
        if not self.state_path.exists():
            return {"running": False, "dir": str(self.dir)}
        st = LabState.load(self.state_path)
        alive = {n.name: _alive(n.pid, n.datadir) for n in st.nodes}
        return {"running": all(alive.values()), "dir": st.dir, "onion": st.onion,
                "socks": st.socks, "control": st.control, "config": str(self.config_path),
                "nodes": alive}

    # -- internals --------------------------------------------------------------------
    def _wipe(self) -> None:
        for child in ("nodes",):
            shutil.rmtree(self.dir / child, ignore_errors=True)
        for f in (STATE_FILE, CONFIG_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / f).unlink()

    def _spawn(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None
               ) -> subprocess.Popen[bytes]:
        with open(log, "ab") as fh:  # cwd = the node's data dir: how _alive knows it is ours
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=env, close_fds=True, cwd=log.parent)
        self._procs.append(p)
        return p

    def _up(self, tor: str, forum_port: int | None, timeout: float,
            progress: Callable[[str], None], t0: float, extra_ports: dict[int, int]) -> LabState:
        nodes_dir = self.dir / "nodes"
        shutil.rmtree(nodes_dir, ignore_errors=True)
        nodes_dir.mkdir()
        # ports: per authority/relay control+or+dir, client control+socks, onion control,
        # forum
        n_ports = (N_AUTHORITIES + N_RELAYS) * 3 + 2 + 1 + 1
        ports = iter(free_ports(n_ports))
        forum_started = forum_port is None
        if forum_port is None:
            forum_port = next(ports)
        else:
            next(ports)

        progress("lab: generating authority keys")
        auths: list[rc.Authority] = []
        plans: list[tuple[str, str, Path, int, int, int]] = []
        for i in range(N_AUTHORITIES):
            nick = f"auth{i}"
            d = _mkdatadir(nodes_dir / nick)
            control, orport, dirport = next(ports), next(ports), next(ports)
            v3, fp = _authority_keys(tor, d, dirport)
            auths.append(rc.Authority(nick, orport, dirport, v3, fp))
            plans.append((nick, "authority", d, control, orport, dirport))
        for i in range(N_RELAYS):
            nick = f"relay{i}"
            d = _mkdatadir(nodes_dir / nick)
            plans.append((nick, "relay", d, next(ports), next(ports), next(ports)))

        states: list[NodeState] = []
        torrcs: list[tuple[str, str, Path, str]] = []
        for nick, role, d, control, orport, dirport in plans:
            make = rc.authority_torrc if role == "authority" else rc.relay_torrc
            torrcs.append((nick, role, d, make(str(d), nick, control, orport, dirport, auths)))
            states.append(NodeState(nick, role, 0, str(d), control=control, orport=orport,
                                    dirport=dirport))
        client_d = _mkdatadir(nodes_dir / "client")
        c_control, c_socks = next(ports), next(ports)
        torrcs.append(("client", "client", client_d,
                       rc.client_torrc(str(client_d), "client", c_control, c_socks, auths)))
        states.append(NodeState("client", "client", 0, str(client_d), control=c_control, socks=c_socks))
        onion_d = _mkdatadir(nodes_dir / "onion")
        o_control = next(ports)
        torrcs.append(("onion", "onion", onion_d,
                       rc.onion_torrc(str(onion_d), "onion", o_control, forum_port, auths,
                                      extra_ports)))
        states.append(NodeState("onion", "onion", 0, str(onion_d), control=o_control))

        progress(f"lab: starting {len(torrcs)} tor processes")
        for (nick, _role, d, text), st in zip(torrcs, states, strict=True):
            (d / "torrc").write_text(text)
            p = self._spawn(nick, [tor, "-f", str(d / "torrc"), "--defaults-torrc", "/dev/null"],
                            d / "stdout.log")
            st.pid = p.pid

        if forum_started:
            fdir = _mkdatadir(nodes_dir / "forum")
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            p = self._spawn("forum", [sys.executable, "-m", "darkwatch_lab.forum",
                                      "--host", "127.0.0.1", "--port", str(forum_port)],
                            fdir / "forum.log", env=env)
            states.append(NodeState("forum", "forum", p.pid, str(fdir)))

        self.state = LabState(dir=str(self.dir), onion="", socks=f"127.0.0.1:{c_socks}",
                              control=f"127.0.0.1:{c_control}", forum_port=forum_port,
                              forum_started=forum_started, nodes=states, started=time.time())
        self.state.save(self.state_path)

        hostname = onion_d / "hs" / "hostname"
        deadline = t0 + timeout
        while not hostname.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                raise LabError(f"the onion host never wrote {hostname}; see {onion_d}/notice.log")
            time.sleep(0.2)
        self.state.onion = hostname.read_text().strip()
        self.state.save(self.state_path)
        progress(f"lab: onion service {self.state.onion}, waiting for it to answer through Tor")
        self._wait_reachable(deadline, progress)
        self.state.ready_seconds = round(time.monotonic() - t0, 1)
        self.state.save(self.state_path)
        write_lab_config(self.config_path, self.state)
        progress(f"lab: ready in {self.state.ready_seconds:.0f}s; config {self.config_path}")
        return self.state

    def kill_node(self, name: str) -> None:
        """SIGKILL one lab process (fault tests: "tor killed mid-crawl")."""
        node = self._node(name)
        _signal_group(node.pid, node.datadir, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(node.pid, node.datadir) and time.monotonic() < deadline:
            _reap(node.pid)
            time.sleep(0.05)
        for p in self._procs:
            if p.pid == node.pid:
                with contextlib.suppress(Exception):
                    p.wait(timeout=1)

    def start_node(self, name: str) -> None:
        """Start a killed tor node again with its torrc (same ports, same data dir)."""
        assert self.state is not None
        node = self._node(name)
        if _alive(node.pid, node.datadir):
            return
        tor = tor_binary(self.tor_name)
        d = Path(node.datadir)
        p = self._spawn(name, [tor, "-f", str(d / "torrc"), "--defaults-torrc", "/dev/null"],
                        d / "stdout.log")
        node.pid = p.pid
        self.state.save(self.state_path)

    def _node(self, name: str) -> NodeState:
        st = self.state or LabState.load(self.state_path)
        self.state = st
        for n in st.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no lab node {name!r}")

    def client_torrc_options(self) -> dict[str, str | list[str]]:
        """torrc options that join a launched tor to this lab (for ``tor: {mode: launch}``)."""
        st = self.state or LabState.load(self.state_path)
        text = (Path(st.dir) / "nodes" / "client" / "torrc").read_text()
        opts: dict[str, str | list[str]] = {"DirAuthority": []}
        keep = ("TestingTorNetwork", "PathsNeededToBuildCircuits", "TestingDirAuthVoteExit",
                "TestingDirAuthVoteHSDir", "TestingDirAuthVoteGuard", "TestingMinExitFlagThreshold",
                "V3AuthNIntervalsValid", "Sandbox")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "DirAuthority":
                opts["DirAuthority"].append(value)  # type: ignore[union-attr]
            elif key in keep:
                opts[key] = value
        return opts

    def _check_alive(self) -> None:
        assert self.state is not None
        for n in self.state.nodes:
            if not _alive(n.pid, n.datadir):
                _reap(n.pid)
                log = Path(n.datadir) / ("forum.log" if n.role == "forum" else "notice.log")
                tail = ""
                with contextlib.suppress(OSError):
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
                    out = Path(n.datadir) / "stdout.log"
                    if out.exists():
                        tail += "\n" + "\n".join(out.read_text(errors="replace").splitlines()[-5:])
                raise LabError(f"lab process {n.name} exited during start-up (port in use?); "
                               f"last log lines:\n{tail}")

    def _wait_reachable(self, deadline: float, progress: Callable[[str], None]) -> None:
        from crawler.tor.probe import ProbeError, fetch

        assert self.state is not None
        last, last_said = "", 0.0
        while True:
            self._check_alive()
            try:
                res = fetch(self.state.socks, self.state.onion_url + "/", timeout=20)
                if res.status < 500:
                    return
                last = f"HTTP {res.status}"
            except ProbeError as exc:
                last = exc.reason
            now = time.monotonic()
            if now > deadline:
                raise LabError(f"the onion service did not answer through the lab client in time "
                               f"(last error: {last}); logs under {self.dir / 'nodes'}")
            if now - last_said > 10:
                progress(f"lab: not reachable yet ({last})")
                last_said = now
            time.sleep(1.0)


def _mkdatadir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _authority_keys(tor: str, datadir: Path, dirport: int) -> tuple[str, str]:
    """Create v3 authority keys with tor-gencert; return (v3ident, relay fingerprint)."""
    keys = datadir / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    subprocess.run(
        ["tor-gencert", "--create-identity-key", "--passphrase-fd", "0",
         "-i", str(keys / "authority_identity_key"), "-s", str(keys / "authority_signing_key"),
         "-c", str(keys / "authority_certificate"), "-m", "12", "-a", f"127.0.0.1:{dirport}"],
        input=b"\n", capture_output=True, check=True, timeout=60,
    )
    v3 = ""
    for line in (keys / "authority_certificate").read_text().splitlines():
        if line.startswith("fingerprint "):
            v3 = line.split()[1]
    empty = datadir / "empty-torrc"
    empty.write_text("")
    out = subprocess.run(
        [tor, "--ignore-missing-torrc", "-f", str(empty), "--defaults-torrc", "/dev/null",
         "--orport", "1", "--datadirectory", str(datadir), "--list-fingerprint"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip().splitlines()
    fp = "".join(out[-1].split()[1:]) if out else ""
    if len(v3) != 40 or len(fp) != 40:
        raise LabError(f"could not read authority keys in {datadir} (v3={v3!r}, fp={fp!r})")
    return v3, fp


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int, datadir: str) -> bool:
    """Alive and still ours (guards recycled PIDs: pid_max is 32768 on small machines).

    Ours means the command line names our data dir (tor: ``-f <datadir>/torrc``) or the
    process runs in it (every lab process is started with ``cwd=datadir``). A process we
    cannot tie to a data dir is never ours: signalling a bare PID once killed freshly
    started tor nodes of another lab that had been handed the recycled number.
    """
    if pid <= 0 or not datadir:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except OSError:
        return False
    if datadir in _cmdline(pid):
        return True
    try:
        return os.path.realpath(f"/proc/{pid}/cwd") == os.path.realpath(datadir)
    except OSError:
        return False


def _signal_group(pid: int, datadir: str, sig: int) -> None:
    if not _alive(pid, datadir):
        return
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    target = pgid if pgid == pid else None  # started with start_new_session: pgid == pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if target:
            os.killpg(target, sig)
        else:
            os.kill(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def lab_forums(onion_url: str) -> list[dict[str, object]]:
    """One darkwatch forum per skin of the fixture forum, at its onion address."""
    return [
        {"name": f"lab-{skin}", "engine": skin, "start_urls": [onion_url + p for p in paths],
         "delay": 0.0, "concurrency": 4, "timeout": 60.0,
         "timezone": "Europe/Paris"}  # the fixture forum's local time (mybb shows it)
        for skin, paths in fixture_boards().items()
    ]


def fixture_boards() -> dict[str, list[str]]:
    """Public board paths per skin, asked from the fixture forum's own code."""
    try:
        from darkwatch_lab.forum import DEFAULT_SKINS, FixtureForum  # the fixture engineer's module

        f = FixtureForum(seed=1)
        return {skin: [f.board_page_path(skin, b) for b in f.board_ids(private=False)]
                for skin in DEFAULT_SKINS}
    except Exception:  # noqa: BLE001 - fixture API changed: fall back to its documented paths
        return {"phpbb": ["/phpbb/viewforum.php?f=2", "/phpbb/viewforum.php?f=3"],
                "mybb": ["/mybb/forumdisplay.php?fid=2", "/mybb/forumdisplay.php?fid=3"]}


def write_lab_config(path: Path, state: LabState) -> None:
    import yaml

    cfg = {
        "store": {"sqlite": str(Path(state.dir) / "darkwatch.db")},
        "tor": {"mode": "system", "socks": state.socks, "control": state.control},
        "rules": {"enabled": False},
        "forums": lab_forums(state.onion_url),
    }
    path.write_text("# Written by 'darkwatch lab up': the private Tor lab's client and onion forum.\n"
                    + yaml.safe_dump(cfg, sort_keys=False))


def install_signal_cleanup(lab: TorLab) -> None:
    """SIGTERM/SIGHUP -> tear the lab down and exit (Ctrl-C raises KeyboardInterrupt -> atexit)."""
    def handler(signum: int, frame: object) -> None:
        lab.down()
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
