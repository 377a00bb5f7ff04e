"""``darkwatch rules lint|test|list|schema``: the rule author's loop."""

from __future__ import annotations

import argparse
import sys
import time

from crawler.cli._common import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL


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
            sp.add_argument("-v", "--verbose", action="store_true", help="one line per test case")
    sp = rs.add_parser("schema", help="print the JSON Schema of rule files (rules/schema.json)")
    sp.set_defaults(handler=run_schema)
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), EXIT_CONFIG)[1])


def _paths(args: argparse.Namespace) -> list[str]:
    from crawler.config.loader import SHIPPED_RULES

    return args.paths or [str(SHIPPED_RULES)]


def run_lint(args: argparse.Namespace) -> int:
    from crawler.rules.loader import load_rules

    rules, problems = load_rules(_paths(args), strict=False)
    for p in sorted(problems, key=lambda p: (p.file, p.line, p.column)):
        print(f"{p}", file=sys.stderr)
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
