"""``darkwatch rules lint|test|list|schema|import|watchlist``: the rule author's loop."""

from __future__ import annotations

import argparse
import sys
import time

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL
from crawler.vocabulary import LEVELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="lint, test and list detection rules")
    rs = p.add_subparsers(dest="rules_command", metavar="ACTION")
    for name, fn, helptext in (
        ("lint", run_lint, "check rule files (schema, conditions, RE2 regexes, duplicate ids)"),
        ("test", run_test, "run the rules' inline tests (exit 1 on a failure)"),
        ("list", run_list, "list the rules"),
    ):
        sp = rs.add_parser(name, help=helptext)
        sp.add_argument("paths", nargs="*", metavar="PATH",
                        help="rule files or folders (default: the shipped packs)")
        sp.set_defaults(handler=fn)
        if name == "test":
            sp.add_argument("-v", "--verbose", action="store_true",
                            help="one line per test case, then the per-rule scores")
            sp.add_argument("--scores", action="store_true", help="per-rule recall and precision "
                            "on the inline tests (match cases are positives, no_match negatives)")
    sp = rs.add_parser("schema", help="print the JSON Schema of rule files (rules/schema.json)")
    sp.set_defaults(handler=run_schema)
    sp = rs.add_parser("import", help="turn a register (FINESS extract, CSV of names) into a rule file")
    sp.add_argument("format", choices=("finess", "names"), help="finess: etalab FINESS extract; "
                    "names: CSV with a 'name' column (optional 'ambiguous')")
    sp.add_argument("file", metavar="FILE")
    sp.add_argument("-o", "--output", required=True, metavar="OUT.yml",
                    help="rule file to write (a long list is split into OUT-1.yml, OUT-2.yml...)")
    sp.add_argument("--category", default=None, metavar="CODE",
                    help="finess: establishment category (default 611, medical-biology labs)")
    sp.add_argument("--name", default=None, metavar="SLUG", help="rule name (names: required)")
    sp.add_argument("--title", default=None)
    sp.add_argument("--level", default="low",
                    choices=LEVELS)
    sp.add_argument("--encoding", default="utf-8", help="of FILE (default utf-8; e.g. latin-1)")
    sp.add_argument("--register-date", default=None, metavar="YYYY-MM-DD",
                    help="date of the register (FINESS: read from its first line)")
    sp.set_defaults(handler=run_import)
    sp = rs.add_parser("watchlist", help="compile an organisation's watchlist YAML into a rule file")
    sp.add_argument("file", metavar="WATCHLIST.yml")
    sp.add_argument("-o", "--output", required=True, metavar="OUT.yml")
    sp.set_defaults(handler=run_watchlist)
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), EXIT_CONFIG)[1])


def _paths(args: argparse.Namespace) -> list[str]:
    from crawler.shipped import SHIPPED_RULES

    return args.paths or [str(SHIPPED_RULES)]


def run_lint(args: argparse.Namespace) -> int:
    from crawler.rules.loader import duplicate_keyword_warnings, load_rules

    rules, problems = load_rules(_paths(args), strict=False)
    for p in sorted(problems, key=lambda p: (p.file, p.line, p.column)):
        print(f"{p}", file=sys.stderr)
    for w in duplicate_keyword_warnings(rules):
        print(f"warning: {w}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the rule files", file=sys.stderr)
        return EXIT_CONFIG
    print(f"ok: {len(rules)} rules")
    return EXIT_OK


def _load_or_report(paths: list[str]):
    from crawler.rules.errors import RuleError
    from crawler.rules.loader import load_rules

    try:
        return load_rules(paths)[0]
    except RuleError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return None


def run_test(args: argparse.Namespace) -> int:
    from crawler.rules.testing import run_tests

    rules = _load_or_report(_paths(args))
    if rules is None:
        return EXIT_CONFIG
    t0 = time.monotonic()
    results = run_tests(rules)
    failed = [r for r in results if not r.passed]
    if args.verbose:
        for r in results:
            print(f"{r.label} {'PASSED' if r.passed else 'FAILED'}")
    else:
        print("".join("." if r.passed else "F" for r in results))
    for r in failed:
        print(f"FAILED {r.label}: {r.case!r}: {r.detail}")
    no_tests = [lr.rule.name for lr in rules
                if lr.rule.enabled and not (lr.rule.tests.match or lr.rule.tests.no_match)]
    for name in no_tests:
        print(f"WARNING rule {name} has no inline tests")
    if args.verbose or getattr(args, "scores", False):
        from crawler.rules.testing import rule_scores

        print(f"{'rule':<32} {'match':>6} {'no_match':>8} {'recall':>7} {'precision':>9}")
        for sc in sorted(rule_scores(results), key=lambda x: x.name):
            rec = "-" if sc.recall is None else f"{sc.recall:.2f}"
            prec = "-" if sc.precision is None else f"{sc.precision:.2f}"
            print(f"{sc.name:<32} {sc.tp + sc.fn:>6} {sc.fp + sc.tn:>8} {rec:>7} {prec:>9}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed "
          f"({len(rules)} rules) in {time.monotonic() - t0:.2f}s")
    return EXIT_PARTIAL if failed else EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    rules = _load_or_report(_paths(args))
    if rules is None:
        return EXIT_CONFIG
    for lr in sorted(rules, key=lambda r: (r.ruleset, r.rule.name)):
        r = lr.rule
        state = "" if r.enabled else " (disabled)"
        print(f"{lr.ruleset}/{r.name:<26} {r.level:<13} {r.status:<12} {r.title}{state}")
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    from crawler.rules.schema import json_schema_text

    sys.stdout.write(json_schema_text())
    return EXIT_OK


def _check_file(path: str) -> str | None:
    from crawler.cli._common import check_input_path

    return check_input_path(path)


def run_import(args: argparse.Namespace) -> int:
    import datetime as dt
    from pathlib import Path

    from crawler.rules import importers as im

    err = _check_file(args.file)
    if err:
        print(err, file=sys.stderr)
        return EXIT_CONFIG
    try:
        when = dt.date.fromisoformat(args.register_date) if args.register_date else None
    except ValueError:
        print(f"error: --register-date {args.register_date!r}: expected YYYY-MM-DD", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.format == "finess":
            nl = im.read_finess(Path(args.file), args.category or im.FINESS_LAB_CATEGORY,
                                args.encoding, when)
            if args.name:
                nl.slug = args.name
        else:
            if not args.name:
                print("error: rules import names: --name SLUG is required (the rule's name)",
                      file=sys.stderr)
                return EXIT_CONFIG
            nl = im.read_names_csv(Path(args.file), args.name, args.title, args.encoding, when)
        if args.title:
            nl.title = args.title
        nl.level = args.level
        texts = im.name_rules(nl, im.health_context() if nl.ambiguous else None)
        paths = im.write_outputs(Path(args.output), texts)
    except (im.RegisterError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    dated = f"register of {nl.register_date}" if nl.register_date else "no register date"
    print(f"ok: {len(nl.names) + len(nl.ambiguous)} names ({len(nl.ambiguous)} ambiguous), "
          f"{dated} -> {', '.join(map(str, paths))}")
    return EXIT_OK


def run_watchlist(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crawler.rules import importers as im

    err = _check_file(args.file)
    if err:
        print(err, file=sys.stderr)
        return EXIT_CONFIG
    try:
        w = im.read_watchlist(Path(args.file))
        paths = im.write_outputs(Path(args.output),
                                 [("", im.watchlist_rule(w, im.health_context()))])
    except (im.RegisterError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    n = len(w.brands) + len(w.products) + len(w.domains) + len(w.email_domains) + len(w.ambiguous)
    print(f"ok: watch-{w.slug}: {n} names/domains, {len(w.addresses)} addresses -> {paths[0]}")
    return EXIT_OK
