"""Tor's SOCKS5 reply codes as readable errors (pure; shared by the handler and probes)."""

from __future__ import annotations

# RFC 1928 codes, then Tor's extended onion-service codes (0xF0-0xF7, tor's
# ``ExtendedErrors`` SocksPort flag; sent by default for onion addresses in tor >= 0.4.3).
SOCKS_REPLIES: dict[int, tuple[str, str]] = {
    0x01: ("general-failure", "Tor reported a general failure (circuit could not be built?)"),
    0x02: ("not-allowed", "Tor refused the destination (not allowed by its SocksPort policy)"),
    0x03: ("network-unreachable", "network unreachable from Tor"),
    0x04: ("host-unreachable", "host unreachable through Tor (onion service down or gone?)"),
    0x05: ("connection-refused", "the destination refused the connection (service port closed)"),
    0x06: ("ttl-expired", "TTL expired: the circuit or the onion rendezvous timed out"),
    0x07: ("command-not-supported", "Tor does not support this SOCKS command"),
    0x08: ("address-not-supported", "Tor does not support this address type"),
    0xF0: ("onion-not-found", "onion service descriptor not found (service offline or unknown)"),
    0xF1: ("onion-invalid", "onion service descriptor is invalid"),
    0xF2: ("onion-intro-failed", "onion service introduction failed"),
    0xF3: ("onion-rendezvous-failed", "onion service rendezvous failed"),
    0xF4: ("onion-auth-missing", "onion service needs client authorization (ClientOnionAuthDir)"),
    0xF5: ("onion-auth-wrong", "onion service client authorization was rejected"),
    0xF6: ("onion-bad-address", "invalid .onion address (typo or old v2 address?)"),
    0xF7: ("onion-intro-timeout", "onion service introduction timed out"),
}


def describe_reply(code: int) -> tuple[str, str]:
    """(kind, readable reason) for a SOCKS5 reply code other than success."""
    kind, text = SOCKS_REPLIES.get(code, ("socks-error", "unknown SOCKS reply"))
    return f"tor-{kind}", f"{text} [SOCKS reply 0x{code:02x}]"
