"""Strict parser of ``strace -f -yy -e trace=connect,sendto,sendmsg,sendmmsg,openat,listen`` output.

Every line must be understood: an unknown syscall line, an unknown address family or a
send whose destination cannot be established is an ``Unparsed`` entry, and the tests
fail on it rather than pass. ``-yy`` makes strace print each fd with its socket
(``5<TCP:[127.0.0.1:40644->127.0.0.1:9050]>``, ``7<UDP:[174472]>``), so a send on a
connected socket is tied to its peer without tracking fds per process.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

STRACE = "/usr/bin/strace"
SYSCALLS = ("connect", "sendto", "sendmsg", "sendmmsg")
OTHER = ("openat", "listen")  # files (resolver lookups) and listening sockets (none allowed)
TRACE = "trace=" + ",".join((*SYSCALLS, *OTHER))
# Files the libc resolver reads when a name is looked up (never needed when Tor resolves).
RESOLVER_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf")
NSCD = "/var/run/nscd/socket"

_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<rest>.*)$")
_CALL = re.compile(r"^(?P<name>[a-z_0-9]+)\((?P<args>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>[a-z_0-9]+) resumed>")
_FD = re.compile(r"^(?P<fd>\d+)<(?P<kind>[A-Za-z0-9_-]+):\[(?P<inside>[^\]]*)\]>")
_INET = re.compile(r'\{sa_family=AF_INET, sin_port=htons\((?P<port>\d+)\), '
                   r'sin_addr=inet_addr\("(?P<host>[0-9.]+)"\)\}')
_INET6 = re.compile(r'\{sa_family=AF_INET6, sin6_port=htons\((?P<port>\d+)\), .*?'
                    r'inet_pton\(AF_INET6, "(?P<host>[0-9a-fA-F:.]+)"')
_UNIX = re.compile(r'\{sa_family=AF_UNIX(?:, sun_path=(?P<path>@?"[^"]*"))?')
_FAMILY = re.compile(r"sa_family=(?P<family>AF_[A-Z0-9_]+)")
_PEER = re.compile(r"^(?P<lhost>\[?[0-9a-fA-F:.]+\]?):(?P<lport>\d+)->(?P<host>\[?[0-9a-fA-F:.]+\]?):"
                   r"(?P<port>\d+)$")
_OPENAT = re.compile(r'^openat\([^,]+, "(?P<path>[^"]*)"')


@dataclass(frozen=True)
class Dest:
    """One network destination a syscall addressed."""

    syscall: str
    family: str  # AF_INET | AF_INET6 | AF_UNIX | AF_NETLINK
    proto: str  # TCP | TCPv6 | UDP | UDPv6 | UNIX-STREAM | NETLINK | ...
    host: str = ""  # IP, or the unix path
    port: int = 0
    line: str = ""


@dataclass
class Trace:
    dests: list[Dest] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    resolver_files: list[str] = field(default_factory=list)
    listens: list[str] = field(default_factory=list)  # listen() calls: a crawl serves nothing
    pids: set[str] = field(default_factory=set)

    def inet(self) -> list[Dest]:
        return [d for d in self.dests if d.family in ("AF_INET", "AF_INET6")]

    def unix(self) -> list[Dest]:
        return [d for d in self.dests if d.family == "AF_UNIX"]

    def endpoints(self) -> set[tuple[str, str, int]]:
        return {(d.proto, d.host, d.port) for d in self.inet()}


def require_strace() -> str:
    path = shutil.which("strace") or (STRACE if Path(STRACE).exists() else None)
    assert path, ("strace is required for the no-leak proof and is missing: install it "
                  "(sudo apt-get install -y strace; scripts/setup.sh does it)")
    return path


def strace_argv(out: Path) -> list[str]:
    # -yy: decode fds (socket endpoints); -s 64: enough to see DNS names in payloads.
    return [require_strace(), "-f", "-yy", "-s", "64", "-e", TRACE, "-o", str(out)]


def _addr(args: str) -> tuple[str, str, int] | None | str:
    """(family, host, port) of the first socket address in ``args``; None if no address
    (NULL); a string naming the family when the family is not understood."""
    m = _INET.search(args)
    if m:
        return ("AF_INET", m["host"], int(m["port"]))
    m = _INET6.search(args)
    if m:
        return ("AF_INET6", m["host"].lower(), int(m["port"]))
    m = _UNIX.search(args)
    if m:
        return ("AF_UNIX", (m["path"] or "").strip('"'), 0)
    m = _FAMILY.search(args)
    if m:
        if m["family"] == "AF_NETLINK":
            return ("AF_NETLINK", "", 0)
        return m["family"]  # AF_INET/AF_INET6 in a shape the regexes missed, AF_PACKET...
    return None


def parse(text: str) -> Trace:
    tr = Trace()
    connects: dict[str, tuple[str, str, int]] = {}  # socket inode -> destination it connected to
    pending: list[tuple[str, str, str, str]] = []  # sends on TCP:[inode] resolved after the pass
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        m = _LINE.match(line)
        if not m:
            tr.unparsed.append(line)
            continue
        pid, rest = m["pid"], m["rest"]
        tr.pids.add(pid)
        if rest.startswith(("+++ exited with", "+++ killed by")) or rest.startswith("--- SIG"):
            continue
        r = _RESUMED.match(rest)
        if r:  # the result half of an interrupted call: its arguments were on the first half
            if r["name"] not in (*SYSCALLS, *OTHER):
                tr.unparsed.append(line)
            continue
        c = _CALL.match(rest)
        if not c or c["name"] not in (*SYSCALLS, *OTHER):
            tr.unparsed.append(line)
            continue
        name, args = c["name"], c["args"]
        if name == "listen":
            tr.listens.append(line)
            continue
        if name == "openat":
            o = _OPENAT.match(rest)
            if not o:
                tr.unparsed.append(line)
            elif o["path"] in RESOLVER_FILES:
                tr.resolver_files.append(line)
            continue
        fd = _FD.match(args)
        if not fd:
            tr.unparsed.append(line)  # -yy always decodes a socket fd; anything else is odd
            continue
        kind, inside = fd["kind"], fd["inside"]
        addr = _addr(args[fd.end():])
        if isinstance(addr, str):
            tr.unparsed.append(line)
            continue
        if name == "connect":
            if addr is None:
                tr.unparsed.append(line)
                continue
            family, host, port = addr
            if family == "AF_UNIX":
                tr.dests.append(Dest(name, family, kind, host, 0, line))
                continue
            if inside.isdigit():
                connects[inside] = (family, host, port)
            tr.dests.append(Dest(name, family, kind, host, port, line))
            continue
        # sendto / sendmsg / sendmmsg
        if addr is not None:
            family, host, port = addr
            tr.dests.append(Dest(name, family, kind, host, port, line))
            continue
        if kind.startswith("UNIX"):
            tr.dests.append(Dest(name, "AF_UNIX", kind, inside, 0, line))
            continue
        if kind == "NETLINK":
            tr.dests.append(Dest(name, "AF_NETLINK", kind, inside, 0, line))
            continue
        p = _PEER.match(inside)
        if p:
            family = "AF_INET6" if kind.endswith("v6") else "AF_INET"
            tr.dests.append(Dest(name, family, kind, p["host"].strip("[]").lower(),
                                 int(p["port"]), line))
            continue
        if inside.isdigit():
            pending.append((name, kind, inside, line))
            continue
        tr.unparsed.append(line)
    for name, kind, inode, line in pending:
        if inode not in connects:
            tr.unparsed.append(line)  # a send whose destination is unknown: fail, not pass
            continue
        family, host, port = connects[inode]
        tr.dests.append(Dest(name, family, kind, host, port, line))
    return tr


def leaks(tr: Trace, allowed: set[tuple[str, int]]) -> list[str]:
    """Every reason the trace is not "loopback Tor ports only" (empty list = clean)."""
    out = [f"unparsed strace line (strict parser): {u}" for u in tr.unparsed]
    out += [f"resolver file opened (a local name lookup): {f}" for f in tr.resolver_files]
    out += [f"listening socket opened (a crawl needs no server): {x}" for x in tr.listens]
    for d in tr.dests:
        if d.family == "AF_UNIX":
            if d.host.endswith("nscd/socket"):
                out.append(f"nscd contacted (a local name lookup): {d.line}")
            continue
        if d.family == "AF_NETLINK":
            continue  # kernel, not the network (listed by the tests)
        if d.proto.startswith("UDP"):
            out.append(f"UDP send/connect (DNS or other datagrams are never sent): {d.line}")
        if d.port == 53:
            out.append(f"DNS port 53: {d.line}")
        if (d.host, d.port) not in allowed:
            out.append(f"{d.syscall} to {d.family} {d.host}:{d.port} (only {sorted(allowed)} "
                       f"are allowed): {d.line}")
    return out
