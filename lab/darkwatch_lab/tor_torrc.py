"""torrc text for the private lab network (pure: no processes, no I/O).

The settings are the ones measured to work on this machine (see
``/work/shared/notes/private-tor-network.md``), taken from the chutney project's testing
network: short voting intervals, ``AssumeReachable`` on every relay (a 6-relay network
cannot self-test reachability), and no exit to anything at all (onion services only).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Authority:
    nick: str
    orport: int
    dirport: int
    v3ident: str  # fingerprint line of the authority certificate
    fingerprint: str  # relay identity fingerprint

    def line(self) -> str:
        return (f"DirAuthority {self.nick} orport={self.orport} no-v2 v3ident={self.v3ident} "
                f"127.0.0.1:{self.dirport} {self.fingerprint}")


def common(datadir: str, nick: str, control_port: int, authorities: list[Authority]) -> list[str]:
    lines = [
        "TestingTorNetwork 1",
        f"Nickname {nick}",
        f"DataDirectory {datadir}",
        "RunAsDaemon 0",
        f"PidFile {datadir}/pid",
        f"Log notice file {datadir}/notice.log",
        "SafeLogging 0",
        "Sandbox 0",
        "ShutdownWaitLength 0",
        "PathsNeededToBuildCircuits 0.67",
        "TestingDirAuthVoteExit *",
        "TestingDirAuthVoteHSDir *",
        "TestingDirAuthVoteGuard *",
        "TestingMinExitFlagThreshold 0",
        "V3AuthNIntervalsValid 2",
        f"ControlPort 127.0.0.1:{control_port}",
        "CookieAuthentication 1",
        # No DNS from any node: nothing in the lab resolves names.
        "ServerDNSResolvConfFile /dev/null",
        "ServerDNSDetectHijacking 0",
        "ServerDNSTestAddresses",
        # Never an exit: the lab only carries onion-service traffic.
        "ExitRelay 0",
        "ExitPolicy reject *:*",
        "ExitPolicy reject6 *:*",
    ]
    lines += [a.line() for a in authorities]
    return lines


def relay_lines(orport: int, dirport: int) -> list[str]:
    return [
        "Address 127.0.0.1",
        f"OrPort 127.0.0.1:{orport}",
        f"DirPort 127.0.0.1:{dirport}",
        "AssumeReachable 1",
        "SocksPort 0",
        "ContactInfo darkwatch-lab@localhost",
    ]


def authority_torrc(datadir: str, nick: str, control: int, orport: int, dirport: int,
                    authorities: list[Authority]) -> str:
    lines = common(datadir, nick, control, authorities) + relay_lines(orport, dirport) + [
        "AuthoritativeDirectory 1",
        "V3AuthoritativeDirectory 1",
        "TestingV3AuthInitialVotingInterval 20",
        "TestingV3AuthInitialVoteDelay 4",
        "TestingV3AuthInitialDistDelay 4",
        "V3AuthVotingInterval 20",
        "V3AuthVoteDelay 4",
        "V3AuthDistDelay 4",
    ]
    return "\n".join(lines) + "\n"


def relay_torrc(datadir: str, nick: str, control: int, orport: int, dirport: int,
                authorities: list[Authority]) -> str:
    return "\n".join(common(datadir, nick, control, authorities) + relay_lines(orport, dirport)) + "\n"


def client_torrc(datadir: str, nick: str, control: int, socks: int,
                 authorities: list[Authority]) -> str:
    lines = common(datadir, nick, control, authorities) + [
        # IsolateSOCKSAuth is Tor's default; spelled out because darkwatch relies on it.
        # OnionTrafficOnly: the lab client refuses any clearnet destination outright.
        f"SocksPort 127.0.0.1:{socks} IsolateSOCKSAuth OnionTrafficOnly ExtendedErrors",
        "SocksTimeout 60",
    ]
    return "\n".join(lines) + "\n"


def onion_torrc(datadir: str, nick: str, control: int, target_port: int,
                authorities: list[Authority], extra_ports: dict[int, int] | None = None) -> str:
    lines = common(datadir, nick, control, authorities) + [
        "SocksPort 0",
        f"HiddenServiceDir {datadir}/hs",
        f"HiddenServicePort 80 127.0.0.1:{target_port}",
    ]
    lines += [f"HiddenServicePort {v} 127.0.0.1:{p}" for v, p in sorted((extra_ports or {}).items())]
    return "\n".join(lines) + "\n"
