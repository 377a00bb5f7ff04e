"""``darkwatch exposure --fingerprints FILE (--dump PATH... | --incidents)``: which of a data
controller's keyed NIR fingerprints appear in a dump or in recorded incidents.

Only fingerprints cross: the controller makes them offline with ``darkwatch fingerprint`` under
the shared key; the answer lists the controller's own fingerprints that were found, never a
clear number. Exit 0: none found; 1: exposure found; 2: bad input (file, key, store).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK

EXIT_EXPOSED = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exposure", help="which of your patients' NIR fingerprints appear in a dump "
                       "or in incidents",
                       description="Check a controller's list of keyed NIR fingerprints (one per "
                       "line, from `darkwatch fingerprint` under the same key) against a dump "
                       "(files, folders, archives) or the incidents of the store. Prints how many "
                       "and which of those fingerprints appear; never a clear number. Exit 0 none "
                       "found, 1 found, 2 bad input.")
    p.add_argument("--fingerprints", "-F", required=True, metavar="FILE",
                   help="the controller's fingerprints, one per line ('-' for stdin)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--dump", nargs="+", metavar="PATH", help="dump files or folders")
    where.add_argument("--incidents", action="store_true",
                       help="the incidents recorded in the SQLite store")
    p.add_argument("--config", "-c", metavar="FILE", help="key and store from this config")
    p.add_argument("--store", metavar="FILE", help="SQLite store (default: the config's, else "
                   "./darkwatch.db)")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler.rules.exposure import FingerprintFileError, check_dump, check_incidents, read_fingerprints
    from crawler.rules.fingerprint import FingerprintKeyMissing, resolve_key

    configured = key_file = None
    store = args.store
    if args.config:
        from crawler.cli._common import load_or_exit

        cfg = load_or_exit(args.config)
        configured, key_file = cfg.rules.fingerprint_key, cfg.rules.fingerprint_key_file
        store = store or cfg.store.sqlite
    try:
        if args.fingerprints == "-":
            wanted = read_fingerprints(sys.stdin, "<stdin>")
        else:
            with open(args.fingerprints, encoding="utf-8", errors="strict") as fh:
                wanted = read_fingerprints(fh, args.fingerprints)
    except (OSError, UnicodeDecodeError, FingerprintFileError) as exc:
        why = exc if isinstance(exc, FingerprintFileError) else (
            f"{args.fingerprints}: cannot read: {getattr(exc, 'strerror', None) or exc}")
        print(f"error: {why}", file=sys.stderr)
        return EXIT_CONFIG
    if not wanted:
        print(f"error: {args.fingerprints}: no fingerprint in the file", file=sys.stderr)
        return EXIT_CONFIG

    if args.incidents:
        store = store or "./darkwatch.db"
        if not os.path.isfile(store):
            print(f"error: {store}: no such store (give --store FILE or --config)", file=sys.stderr)
            return EXIT_CONFIG
        try:
            by_incident = check_incidents(store, wanted)
        except (LookupError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        found = sorted({fp for fps in by_incident.values() for fp in fps})
        d = {"fingerprints": len(wanted), "found": len(found), "found_fingerprints": found,
             "incidents": [{"id": i, "found": len(f)} for i, f in sorted(by_incident.items())]}
        _print(d, args.format, "in incidents",
               [f"  incident {x['id']}: {x['found']:,}" for x in d["incidents"]])
        return EXIT_EXPOSED if found else EXIT_OK

    try:  # the key must be the controller's: a throw-away key would match nothing
        key = resolve_key(configured, ephemeral_ok=False, key_file=key_file)
    except FingerprintKeyMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    status = EXIT_OK

    def on_file(entry: dict) -> None:
        nonlocal status
        if "error" in entry:
            print(f"error: {entry['path']}: {entry['error']}", file=sys.stderr)
            status = EXIT_CONFIG

    res = check_dump(args.dump, key, wanted, on_file)
    found = sorted(res.found)
    d = {"fingerprints": len(wanted), "found": len(found), "found_fingerprints": found,
         "nirs_read": res.nirs, "files": res.files}
    _print(d, args.format, "in the dump", [])
    if status != EXIT_OK:
        return status
    return EXIT_EXPOSED if found else EXIT_OK


def _print(d: dict, fmt: str, where: str, extra: list[str]) -> None:
    if fmt == "json":
        print(json.dumps(d))
        return
    print(f"{d['found']:,} of {d['fingerprints']:,} fingerprints appear {where}"
          + (f" ({d['nirs_read']:,} valid NIRs read)" if "nirs_read" in d else ""))
    for line in extra:
        print(line)
    for fp in d["found_fingerprints"]:
        print(f"  {fp}")
