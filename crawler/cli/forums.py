"""``darkwatch forums lint|test``: the config author's tools."""

from __future__ import annotations

import argparse
import os
import sys

from crawler.cli._common import EXIT_CONFIG, EXIT_PARTIAL, add_config_arg, load_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forums", help="check forum configs and selectors")
    psub = p.add_subparsers(dest="forums_command", metavar="ACTION", required=True)
    lint = psub.add_parser("lint", help="validate the config file (exit 2 on error)")
    add_config_arg(lint)
    lint.set_defaults(handler=run_lint)
    test = psub.add_parser("test", help="fetch one page and show what the selectors extract")
    add_config_arg(test)
    test.add_argument("name", help="forum name from the config")
    test.add_argument("--url", help="page to fetch (board or thread); base URL for --file")
    test.add_argument("--kind", choices=("auto", "board", "thread"), default="auto")
    test.add_argument("--direct", action="store_true", help="no Tor; loopback test servers only")
    test.add_argument("--file", help="parse this saved HTML file instead of fetching --url")
    test.set_defaults(handler=run_test)


def semantic_problems(cfg) -> list[str]:  # type: ignore[no-untyped-def]
    """Checks pydantic cannot do: selectors compile, files exist, channels parse."""
    from crawler.engines.presets import resolve_selectors
    from crawler.engines.selectors import Selectors

    problems: list[str] = []
    src = cfg.source or "darkwatch.yml"
    for i, forum in enumerate(cfg.forums):
        where = f"{src}: forums[{i}] ({forum.name})"
        try:
            sel = resolve_selectors(forum)
        except Exception as exc:
            problems.append(f"{where}: cannot load engine preset {forum.engine!r}: {exc}")
            continue
        for field in Selectors.model_fields:
            value = getattr(sel, field)
            if field == "post_id_regex" or not value:
                continue
            err = selector_error(value)
            if err:
                problems.append(f"{where}: selectors.{field} {value!r}: {err}")
        if sel.post_id_regex:
            import re

            try:
                re.compile(sel.post_id_regex)
            except re.error as exc:
                problems.append(f"{where}: selectors.post_id_regex: {exc}")
        cookies = forum.auth.cookies_file
        if cookies:
            if not os.path.exists(cookies):
                problems.append(f"{where}: auth.cookies_file {cookies} does not exist")
            else:
                from crawler.spiders.cookies import CookieFileError, load_cookies

                try:
                    load_cookies(cookies)
                except CookieFileError as exc:
                    problems.append(f"{where}: {exc}")
    if cfg.alerts.channels:
        from crawler.alerts.notify import validate_channels

        problems += [f"{src}: {p}" for p in validate_channels(cfg.alerts.channels)]
    return problems


def selector_error(value: str) -> str | None:
    from parsel import Selector

    doc = Selector(text="<html><body></body></html>")
    try:
        if value.startswith("xpath:"):
            doc.xpath(value[len("xpath:"):])
        else:
            doc.css(value)
    except Exception as exc:  # parsel/cssselect raise several types
        return f"invalid {'XPath' if value.startswith('xpath:') else 'CSS'} selector: {exc}"
    return None


def run_lint(args: argparse.Namespace) -> int:
    cfg = load_or_exit(args.config)
    problems = semantic_problems(cfg)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return EXIT_CONFIG
    print(f"{args.config}: ok ({len(cfg.forums)} forums)")
    return 0


def run_test(args: argparse.Namespace) -> int:
    from crawler.engines.extract import parse_board, parse_thread
    from crawler.engines.presets import resolve_selectors
    from crawler.fetch_once import FetchError, fetch

    cfg = load_or_exit(args.config)
    try:
        forum = cfg.forum(args.name)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return EXIT_CONFIG
    sel = resolve_selectors(forum)
    if not args.url and not args.file:
        print("error: give --url URL (fetch) or --file saved.html (parse a saved page)",
              file=sys.stderr)
        return EXIT_CONFIG
    if not args.url:
        args.url = forum.start_urls[0]
    if args.file:
        with open(args.file, encoding="utf-8", errors="replace") as fh:
            html = fh.read()
    else:
        socks = None
        if not args.direct:
            from crawler.tor.control import TorUnavailable, ensure_tor_ready

            try:
                session = ensure_tor_ready(cfg.tor, lambda m: print(m, file=sys.stderr))
            except TorUnavailable as exc:
                print(f"error: Tor unavailable: {exc}", file=sys.stderr)
                return 3
            socks = session.socks
        try:
            page = fetch(args.url, socks, isolation=forum.name, timeout=forum.timeout,
                         tls_verify=forum.tls_verify)
        except FetchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_PARTIAL
        print(f"GET {args.url} -> {page.status} {page.content_type}")
        html = page.text
    shown = False
    if args.kind in ("auto", "board"):
        board = parse_board(html, args.url, sel, forum.timezone)
        if board.threads or args.kind == "board":
            shown = True
            print(f"board: {len(board.threads)} threads, next: {board.next_url or '-'}")
            for t in board.threads:
                print(f"  thread {t.title!r}\n    url {t.url}\n    marker {t.marker!r}")
            for w in board.warnings:
                print(f"  warning: {w}")
            if board.logged_out:
                print("  logged out: the page is a login wall")
    if args.kind in ("auto", "thread") and not shown:
        thread = parse_thread(html, args.url, sel, forum.timezone)
        print(f"thread {thread.title!r}: {len(thread.posts)} posts, next: {thread.next_url or '-'}")
        for post in thread.posts:
            print(f"  post {post.post_id} by {post.author!r} at {post.published or '?'}")
            print(f"    text   {post.text[:160]!r}")
            if post.quoted_text:
                print(f"    quoted {post.quoted_text[:100]!r}")
        for w in thread.warnings:
            print(f"  warning: {w}")
        if thread.logged_out:
            print("  logged out: the page is a login wall")
    return 0
