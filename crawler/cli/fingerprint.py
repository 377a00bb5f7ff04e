"""``darkwatch fingerprint VALUE``: the keyed fingerprint an alert would carry for VALUE.

Lets an analyst ask "has this NIR been seen?" by searching alerts for the fingerprint, without
the NIR itself ever being stored.
"""

from __future__ import annotations

import argparse
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fingerprint", help="keyed fingerprint of a value (e.g. a NIR) to search alerts",
                       description="Prints HMAC-SHA256(key, canonical value). The key comes from "
                       "--config (rules.fingerprint_key) or $DARKWATCH_FINGERPRINT_KEY. A NIR is "
                       "canonicalised first (separators and 'clé' removed, 2a -> 2A).")
    p.add_argument("values", nargs="*", metavar="VALUE",
                   help="values to fingerprint (default: one per line on stdin, so they stay out "
                   "of the shell history)")
    p.add_argument("--config", "-c", metavar="FILE", help="take the key from this config")
    p.add_argument("--type", choices=("auto", "fr-nir", "raw"), default="auto",
                   help="auto: NIR if VALUE is a valid NIR, else the value with surrounding "
                   "spaces removed, case folded")
    p.set_defaults(handler=run)


def canonical(value: str, kind: str = "auto") -> str | None:
    from crawler.rules import nir
    from crawler.rules.normalize import fold_keyword

    if kind in ("auto", "fr-nir"):
        n = nir.parse_value(value)
        if n is not None:
            return n.canonical
        if kind == "fr-nir":
            return None
    return fold_keyword(value, True, True)


def run(args: argparse.Namespace) -> int:
    from crawler.rules.fingerprint import FingerprintKeyMissing, fingerprint, resolve_key

    configured = key_file = None
    if args.config:
        from crawler.cli._common import load_or_exit

        rules_cfg = load_or_exit(args.config).rules
        configured, key_file = rules_cfg.fingerprint_key, rules_cfg.fingerprint_key_file
    try:
        key = resolve_key(configured, ephemeral_ok=False, key_file=key_file)
    except FingerprintKeyMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    values = args.values or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    status = EXIT_OK
    for v in values:
        c = canonical(v, args.type)
        if c is None:
            print(f"error: not a valid NIR (check the digits and the key): {v[:4]}…", file=sys.stderr)
            status = EXIT_CONFIG
            continue
        print(fingerprint(key, c))
    return status
