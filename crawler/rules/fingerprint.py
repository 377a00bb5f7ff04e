"""Keyed fingerprints: "has this NIR been seen?" without storing the NIR.

HMAC-SHA256 with a secret key, not a bare hash: a NIR has ~10^13 plausible values, so an unkeyed
hash is reversed by brute force in hours.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from collections.abc import Callable

ENV = "DARKWATCH_FINGERPRINT_KEY"
MIN_KEY_CHARS = 16


class FingerprintKeyMissing(RuntimeError):
    pass


def resolve_key(configured: str | None, ephemeral_ok: bool,
                warn: Callable[[str], None] | None = None, key_file: str | None = None) -> bytes:
    """The configured key, else ``$DARKWATCH_FINGERPRINT_KEY``, else the key file written by
    ``darkwatch init``; else a random one if allowed (never for anything that leaves the machine:
    fingerprints under a throw-away key match nothing later)."""
    say = warn or (lambda m: print(m, file=sys.stderr))
    key = configured or os.environ.get(ENV)
    if not key and key_file and os.path.isfile(key_file):
        key = read_key_file(key_file, say)
    if key:
        if len(key) < MIN_KEY_CHARS:
            say(f"warning: the fingerprint key is short ({len(key)} characters): use at least "
                f"{MIN_KEY_CHARS} random characters, or fingerprints can be reversed by brute force")
        return key.encode("utf-8")
    if not ephemeral_ok:
        raise FingerprintKeyMissing(
            "no fingerprint key: run `darkwatch init` (it writes a strong key to "
            f"{key_file or 'fingerprint.key beside the store'}, mode 0600), or set "
            f"rules.fingerprint_key in the config or export {ENV}; keep it stable and backed up, "
            "fingerprints are only comparable under the same key")
    say(f"warning: {ENV} is not set: using a random key for this run; "
        "fingerprints will not match those of other runs")
    return secrets.token_bytes(32)


def read_key_file(path: str, warn: Callable[[str], None] | None = None) -> str:
    """The key in ``path``; warns when others may read it (the key protects every fingerprint)."""
    mode = os.stat(path).st_mode
    if mode & 0o077 and warn is not None:
        warn(f"warning: the fingerprint key file {path} is readable by other users "
             f"(mode {mode & 0o777:o}): chmod 600 it")
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip()


def create_key_file(path: str) -> bool:
    """Write a new 256-bit key to ``path`` (mode 0600, never overwriting); False if it exists."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return True


def fingerprint(key: bytes, canonical: str) -> str:
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
