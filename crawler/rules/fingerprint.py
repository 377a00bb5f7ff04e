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

ENV = "DARKWATCH_FINGERPRINT_KEY"
MIN_KEY_CHARS = 16


class FingerprintKeyMissing(RuntimeError):
    pass


def resolve_key(configured: str | None, ephemeral_ok: bool, warn=None) -> bytes:
    """The configured key, else ``$DARKWATCH_FINGERPRINT_KEY``; else a random one if allowed."""
    key = configured or os.environ.get(ENV)
    if key:
        if len(key) < MIN_KEY_CHARS:
            (warn or (lambda m: print(m, file=sys.stderr)))(
                f"warning: the fingerprint key is short ({len(key)} characters): use at least "
                f"{MIN_KEY_CHARS} random characters, or fingerprints can be reversed by brute force")
        return key.encode("utf-8")
    if not ephemeral_ok:
        raise FingerprintKeyMissing(
            f"no fingerprint key: set rules.fingerprint_key in the config or export {ENV} "
            "(a long random secret, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`); "
            "keep it stable, fingerprints are only comparable under the same key")
    (warn or (lambda m: print(m, file=sys.stderr)))(
        f"warning: {ENV} is not set: using a random key for this run; "
        "fingerprints will not match those of other runs")
    return secrets.token_bytes(32)


def fingerprint(key: bytes, canonical: str) -> str:
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
