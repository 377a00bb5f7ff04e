"""``darkwatch scan PATH...``: run the rules over files (a leaked dump, pastes), streaming.

Two outputs: the scope summary (default on a terminal; ``--summary``, ``--format json`` for one
JSON object) or one line per match (``--matches``, default on a pipe; ``--format jsonl``).
Memory stays bounded by the scan window whatever the size of the dump or the number of hits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

from crawler.exitcodes import ExitCode

# not from crawler.cli._common: that imports the config models, which a scan without
# --incident never needs (a dump triage starts in a third of a second)
EXIT_OK, EXIT_CONFIG = ExitCode.OK, ExitCode.CONFIG

EXIT_INTERRUPTED = ExitCode.INTERRUPTED
EXIT_PIPE = ExitCode.PIPE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="scan files or folders with the rules (e.g. a leaked dump)",
                       description="Scan files (text, CSV/TSV, JSON lines, SQL dumps; .gz, .bz2, .xz, "
                       ".zip, .tar* read as streams, never extracted) in bounded memory. On a "
                       "terminal: a scope summary (records, distinct NIRs, labs, columns, rules). "
                       "On a pipe, or with --matches: one line per match. Values are "
                       "masked; fingerprints are keyed HMACs (key: $DARKWATCH_FINGERPRINT_KEY, else a "
                       "random key for this run).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    p.add_argument("--rules", "-r", action="append", metavar="PATH",
                   help="rule file or folder, repeatable (default: the shipped packs)")
    p.add_argument("--format", "-f", choices=("text", "jsonl", "json"), default=None,
                   help="text (default); jsonl: one JSON object per match; json: the summary as "
                        "one JSON object")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--summary", "-s", action="store_true",
                     help="print the scope summary (default on a terminal)")
    out.add_argument("--matches", "-m", action="store_true",
                     help="print one line per match (default on a pipe)")
    p.add_argument("--rule", action="append", metavar="NAME",
                   help="only report these rules (repeatable)")
    p.add_argument("--reveal", action="store_true",
                   help="also print clear matched values (never do this on shared screens/logs)")
    p.add_argument("--html", metavar="FILE",
                   help="also write the scope report as one self-contained HTML page with charts "
                        "(for a data-protection officer's breach notification)")
    p.add_argument("--incident", metavar="ID",
                   help="attach the dump's scope and the keyed fingerprints of its NIRs to this "
                        "incident (id or unique prefix) in the store of --config: incidents "
                        "sharing those people are linked")
    p.add_argument("--config", "-c", default="darkwatch.yml", metavar="FILE",
                   help="with --incident: the store and fingerprint key (default: ./darkwatch.yml)")
    p.set_defaults(handler=run)


def _mode(args: argparse.Namespace) -> tuple[bool, str] | str:
    """(summary?, format) or an error message."""
    fmt = args.format
    if args.summary or fmt == "json":
        if args.matches:
            return "--format json prints the summary: drop --matches, or use --format jsonl"
        if fmt == "jsonl":
            return "--summary prints one JSON object with --format json (jsonl is per match)"
        return True, fmt or "text"
    if args.matches or fmt is not None:
        return False, fmt or "text"
    return sys.stdout.isatty(), "text"


class _Progress:
    """``scan: 120.0/420.0 MB  14.2 MB/s  ETA 21 s`` on a terminal's stderr, at most 4 times/s."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.t0 = self.last = time.monotonic()
        self.shown = False

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last < 0.25 and self.shown:
            return
        self.last = now
        took = now - self.t0
        if took < 0.5:  # bytes are counted when read: the first chunk is no rate yet
            speed = "-- MB/s  ETA --"
        else:
            rate = self.done / took
            speed = f"{rate / 1e6:.1f} MB/s  ETA {(self.total - self.done) / rate:.0f} s"
        sys.stderr.write(f"\rscan: {self.done / 1e6:,.1f}/{self.total / 1e6:,.1f} MB  {speed}\x1b[K")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _input_problem(path: str) -> str | None:
    """The shared input check of every command (a FIFO is said to be one) when present."""
    try:
        from crawler.paths import input_problem
    except ImportError:  # pragma: no cover - older tree: crawler.rules.scan.iter_files checks
        return None
    return input_problem(path, allow_dir=True)


def run(args: argparse.Namespace) -> int:
    from crawler.rules.engine import RuleSet
    from crawler.rules.errors import RuleError
    from crawler.rules.fingerprint import resolve_key
    from crawler.rules.loader import load_rules
    from crawler.rules.post import Evaluator
    from crawler.rules.scan import HIT_SPACING, Scanner, iter_files
    from crawler.rules.scope import Scope, render_text
    from crawler.shipped import SHIPPED_RULES

    mode = _mode(args)
    if isinstance(mode, str):
        print(f"error: {mode}", file=sys.stderr)
        return EXIT_CONFIG
    summary, fmt = mode
    if args.html:
        parent = os.path.dirname(os.path.abspath(args.html))
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
            print(f"error: --html {args.html}: the directory {parent} does not exist or is not "
                  "writable", file=sys.stderr)
            return EXIT_CONFIG
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
    target = None
    if args.incident:  # checked before any work: a wrong id or key is said at once
        target = _incident_target(args)
        if isinstance(target, int):
            return target
        key = target.key
    else:
        key = resolve_key(None, ephemeral_ok=True)
    ev = Evaluator(key, reveal=args.reveal)
    out = sys.stdout
    scope = Scope(ruleset)
    if target is not None:
        scope.on_nirs = target.fingerprints.add

    files: list[tuple[str, str | None]] = []
    for raw in args.paths:
        problem = _input_problem(raw)
        files.extend([(raw, problem)] if problem else iter_files([raw]))
    total = 0
    for path, error in files:
        if not error:
            with contextlib.suppress(OSError):
                total += os.path.getsize(path)
    # on a terminal's stderr; not when match lines go to the same terminal (they would mix)
    show = sys.stderr.isatty() and (summary or not sys.stdout.isatty())
    progress = _Progress(total) if show else None

    render = write = None
    if not summary:
        render = _renderer(ev, fmt, lambda: scanner.current.path)

        def write(lines: list[str]) -> None:
            out.write("".join(lines))

    scanner = Scanner(ruleset, render, write, want_lines=fmt == "text",
                      observe=scope.observe if summary or args.html or target else None,
                      progress=progress)
    status = EXIT_OK
    t0 = time.monotonic()
    try:
        try:
            for path, error in files:
                if error:
                    scope.files.append(_errored(path, error))
                    print(f"error: {path}: {error}", file=sys.stderr)
                    status = EXIT_CONFIG
                    continue
                for st in _scan_sources(scanner, scope, path):
                    for w in st.warnings:
                        print(f"warning: {st.path}: {w}", file=sys.stderr)
                    if st.error:
                        print(f"error: {st.path}: {st.error}", file=sys.stderr)
                        status = EXIT_CONFIG
                    elif st.capped:
                        print(f"warning: {st.path}: a pattern matched more than once every "
                              f"{HIT_SPACING} characters (a keyword storm): its hits were capped",
                              file=sys.stderr)
        except KeyboardInterrupt:
            scope.partial = True
            status = EXIT_INTERRUPTED
            if scanner.current is not None and scanner.current.partial:
                scope.add_file(scanner.current)
        if progress:
            progress.clear()
        attached = None
        if target is not None:
            attached = _attach(target, scope.to_dict(time.monotonic() - t0))
            if isinstance(attached, int):
                status = attached if status == EXIT_OK else status
                attached = None
        if args.html:
            from crawler.rules.report_html import render_html

            with open(args.html, "w", encoding="utf-8") as fh:
                fh.write(render_html(scope.to_dict(time.monotonic() - t0)))
        if summary:
            d = scope.to_dict(time.monotonic() - t0)
            if attached is not None:
                d["incident"] = attached
            if fmt == "json":
                out.write(json.dumps(d, ensure_ascii=False) + "\n")
            else:
                out.write(render_text(d))
        elif scope.partial:
            print("interrupted: the output above is partial", file=sys.stderr)
        out.flush()
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly; later flushes go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
        return EXIT_PIPE
    finally:
        if target is not None:
            target.close()
    return status


class _Target:
    """The incident a scan attaches to (``--incident``): its store, id and key, and the
    fingerprints gathered so far."""

    def __init__(self, cfg, store, inc_id: str, key: bytes) -> None:
        from crawler.incidents.dumps import DumpFingerprints

        self.cfg, self.store, self.inc_id, self.key = cfg, store, inc_id, key
        self.fingerprints = DumpFingerprints(key)

    def close(self) -> None:
        self.fingerprints.close()
        self.store.close()


def _incident_target(args: argparse.Namespace) -> _Target | int:
    from crawler.cli._common import load_or_exit
    from crawler.incidents.sqlite import IncidentNotFound
    from crawler.rules.fingerprint import FingerprintKeyMissing, resolve_key
    from crawler.sinks import open_state

    cfg = load_or_exit(args.config)
    try:  # the deployment's key: fingerprints under a throw-away key would link nothing
        key = resolve_key(cfg.rules.fingerprint_key, ephemeral_ok=False,
                          key_file=cfg.rules.fingerprint_key_file)
    except FingerprintKeyMissing as exc:
        print(f"error: --incident: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    store = open_state(cfg)  # a damaged store: StoreError, one line from main()
    try:
        inc_id = store.incidents.resolve(args.incident)
        inc = store.incidents.get(inc_id)
        if inc is not None and inc.merged_into:
            raise IncidentNotFound(f"incident {inc_id} was merged into {inc.merged_into}: "
                                   "attach the dump to that one")
    except IncidentNotFound as exc:
        store.close()
        print(f"error: --incident: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return _Target(cfg, store, inc_id, key)


def _attach(target: _Target, d: dict) -> dict | int:
    """Attach the scope to the incident (not after Ctrl-C: a partial scope would understate it);
    returns what the summary shows, or an exit code."""
    import getpass

    from crawler.cli.incidents import _publish
    from crawler.sinks.base import StoreError

    if d["partial"]:
        print(f"not attached to incident {target.inc_id}: the scan was interrupted (run it again "
              "to the end)", file=sys.stderr)
        return EXIT_INTERRUPTED
    files = [f["path"] for f in d["files"]]
    scope = {"files": files[:20], "files_total": len(files), "bytes": d["bytes"],
             "records": d["records"], "nir_distinct": d["nir_distinct"],
             "nir_distinct_exact": d["nir_distinct_exact"], "health_fields": d["health_fields"],
             "columns": [f"{c['name']}:{c['kind']}" for c in d["columns"][:40]],
             "labs": dict(list(d["labs"].items())[:20]),
             "vendors": dict(list(d["vendors"].items())[:20]), "rules": sorted(d["rules"])}
    if any("error" in f for f in d["files"]):
        scope["files_with_errors"] = [f["path"] for f in d["files"] if "error" in f][:20]
    try:
        by = getpass.getuser()
    except (KeyError, OSError):
        by = "unknown"
    try:
        inc, new, events = target.store.incidents.attach_dump(
            target.inc_id, target.fingerprints.batches(), scope, by)
    except StoreError as exc:
        print(f"error: not attached to incident {target.inc_id}: {exc}", file=sys.stderr)
        return ExitCode.STORE_WRITE
    linked = [e.data for e in events if e.kind == "linked"]
    _publish(target.cfg, target.store, [inc.id, *(x["incident"] for x in linked)])
    total = next(e.data["fingerprints"] for e in events if e.kind == "dump")
    print(f"attached to incident {inc.id}: {total:,} NIR fingerprints ({new:,} new to it); it now "
          f"counts {inc.nir_distinct:,} distinct NIRs"
          + "".join(f"; linked to incident {x['incident']} ({x['forum']}, "
                    f"{x['shared_fingerprints']:,} shared)" for x in linked), file=sys.stderr)
    return {"id": inc.id, "fingerprints": total, "fingerprints_new": new,
            "nir_distinct": inc.nir_distinct,
            "linked": [{"id": x["incident"], "forum": x["forum"],
                        "shared_fingerprints": x["shared_fingerprints"]} for x in linked]}


def _scan_sources(scanner, scope, path: str):
    """Scan every stream of ``path`` (itself, or what its compression/archive holds: never
    extracted to disk); yields each stream's FileStat once it is in the scope."""
    from crawler.dumps.sources import _DAMAGE, damage, open_sources
    from crawler.rules.scan import FileStat

    nonlocal_name = {"current": path}

    def stamp(st):
        scope.add_file(st)
        return st

    try:
        for src in open_sources(path):
            nonlocal_name["current"] = src.name
            scope.new_file()
            if src.error:
                st = FileStat(src.name, error=src.error)
            else:
                st = scanner.scan_stream(src.name, src.stream)
                st.error = st.error or src.cut()
            st.warnings[:0] = src.warnings
            yield stamp(st)
    except BrokenPipeError:
        raise
    except _DAMAGE as exc:  # includes OSError: "cannot read: ..." when it has an errno
        yield stamp(FileStat(nonlocal_name["current"], error=damage(exc)))


def _errored(path: str, error: str):
    from crawler.rules.scan import FileStat

    return FileStat(path, error=error)


def _renderer(ev, fmt: str, path_of):
    """One output line per match, as ``Evaluator.match_dict`` would give it (same keys, same
    order), with the constant parts of each rule encoded once: a dump has millions of matches."""
    from json.encoder import encode_basestring as enc  # the C encoder, ensure_ascii=False

    from crawler.rules.engine import Firing

    heads: dict[tuple[int, str, str], tuple] = {}

    def render(cr, pattern, hit, line, col):
        path = path_of()
        k = (id(cr), pattern, path)
        head = heads.get(k)
        if head is None:
            if len(heads) > 10_000:
                heads.clear()
            d = ev.match_dict(Firing(cr), "text", pattern, hit)
            rule = d["rule"]
            head = heads[k] = (
                f'{{"file": {enc(path)}, "rule": {json.dumps(rule, ensure_ascii=False)}, '
                f'"pattern": {enc(pattern)}, "start": ',
                f"{path}:", f": {rule['name']} ({rule['level']}) {pattern}=")
        fp = ev.fingerprint(hit.canonical)
        if fmt == "text":
            extra = f" value={hit.value!r}" if ev.reveal else ""
            return f"{head[1]}{line}:{col}{head[2]}{hit.masked} fp={fp[:16]}{extra}\n"
        extra = f', "value": {enc(hit.value)}' if ev.reveal else ""
        return (f'{head[0]}{hit.start}, "end": {hit.end}, "masked": {enc(hit.masked)}, '
                f'"fingerprint": "{fp}"{extra}}}\n')

    return render
