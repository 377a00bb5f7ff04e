"""``darkwatch scan PATH...``: run the rules over files (a leaked dump, pastes), print matches."""

from __future__ import annotations

import argparse
import json
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="scan files or folders with the rules (e.g. a leaked dump)",
                       description="Scan files (UTF-8 text, CSV, JSON; invalid bytes replaced) and "
                       "print one line per match. Values are masked; fingerprints are keyed "
                       "HMACs (key: $DARKWATCH_FINGERPRINT_KEY, else a random key for this run).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    p.add_argument("--rules", "-r", action="append", metavar="PATH",
                   help="rule file or folder, repeatable (default: the shipped packs)")
    p.add_argument("--format", "-f", choices=("text", "jsonl"), default="text")
    p.add_argument("--rule", action="append", metavar="NAME",
                   help="only report these rules (repeatable)")
    p.add_argument("--reveal", action="store_true",
                   help="also print clear matched values (never do this on shared screens/logs)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler.config.loader import SHIPPED_RULES
    from crawler.rules.engine import RuleSet
    from crawler.rules.errors import RuleError
    from crawler.rules.fingerprint import resolve_key
    from crawler.rules.loader import load_rules
    from crawler.rules.post import Evaluator
    from crawler.rules.scan import iter_files, scan_file

    try:
        rules, _ = load_rules(args.rules or [str(SHIPPED_RULES)])
    except RuleError as exc:
        for p in exc.problems:
            print(f"error: {p}", file=sys.stderr)
        return EXIT_CONFIG
    if args.rule:
        known = {r.rule.name for r in rules}
        unknown = [n for n in args.rule if n not in known]
        if unknown:
            print(f"error: unknown rule(s) {', '.join(unknown)} (see `darkwatch rules list`)",
                  file=sys.stderr)
            return EXIT_CONFIG
        rules = [r for r in rules if r.rule.name in set(args.rule)]
    ruleset = RuleSet(rules, keep_values=args.reveal)
    ev = Evaluator(resolve_key(None, ephemeral_ok=True), reveal=args.reveal)
    out = sys.stdout
    status = EXIT_OK
    text = args.format == "text"
    for path, error in iter_files(args.paths):
        if error:
            print(f"error: {path}: {error}", file=sys.stderr)
            status = EXIT_CONFIG
            continue
        res = scan_file(ruleset, path, want_lines=text)
        if res.error:
            print(f"error: {path}: {res.error}", file=sys.stderr)
            status = EXIT_CONFIG
            continue
        # Light tuples, sorted by position; the output dicts are built one at a time.
        items = [(hit.start, hit.end, firing.rule.loaded.rule.name, i, pattern, hit)
                 for i, firing in enumerate(res.firings) for _f, pattern, hit in firing.hits]
        items.sort(key=lambda t: t[:4])
        for start, _end, _name, i, pattern, hit in items:
            d = ev.match_dict(res.firings[i], "text", pattern, hit)
            del d["field"]
            if text:
                line, col = res.lines.get(start, (0, 0))
                extra = f" value={d['value']!r}" if "value" in d else ""
                out.write(f"{path}:{line}:{col}: {d['rule']['name']} ({d['rule']['level']}) "
                          f"{d['pattern']}={d['masked']} fp={d['fingerprint'][:16]}{extra}\n")
            else:
                out.write(json.dumps({"file": path, **d}, ensure_ascii=False) + "\n")
        del items, res
    out.flush()
    return status
