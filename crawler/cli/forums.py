"""``darkwatch forums lint|test``: the config author's tools."""

from __future__ import annotations

import argparse
import os
import re
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


# A bare tag (``time``, ``span::text``) in a single-valued post/row field matches every such
# element of the post: the author's join date before the post date, a rank before the name.
_BARE_TAG = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*(::(text|attr\([^)]*\)))?$")
_PER_ITEM_SINGLE = ("thread_link", "post_id", "author", "published", "body")


def semantic_warnings(cfg) -> list[str]:  # type: ignore[no-untyped-def]
    """Valid but risky: settings under which a crawl can read nothing, or the wrong node."""
    from crawler.engines.extract import split_alternatives

    out: list[str] = []
    src = cfg.source or "darkwatch.yml"
    for i, forum in enumerate(cfg.forums):
        where = f"{src}: forums[{i}] ({forum.name})"
        auth, own = forum.auth, forum.selectors
        if forum.engine == "custom" and (auth.login or auth.cookies_file) \
                and not (own.logged_out or own.login_form or (auth.login and auth.login.form)):
            out.append(f"{where}: custom forum with auth but no selectors.logged_out nor "
                       "selectors.login_form: a failed login or an expired session is only "
                       "seen if the forum redirects to its login page or shows a password "
                       "form; set selectors.logged_out to an element only a login wall has "
                       "(e.g. \"form[action*=login]\")")
        for field in _PER_ITEM_SINGLE:
            value = getattr(own, field)
            if not value or value.startswith("xpath:"):
                continue
            for alt in split_alternatives(value):
                tag = alt.split("::")[0]
                if _BARE_TAG.match(alt.strip()) and tag != "a":
                    out.append(f"{where}: selectors.{field} {alt!r} is ambiguous: it matches "
                               f"every <{tag}> of a post or row (often a join date or a rank "
                               f"before the value wanted); scope it (e.g. '.post-date {alt}') "
                               "and check with `darkwatch forums test`")
                    break
    return out


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
    from crawler.store_checks import path_problems

    cfg = load_or_exit(args.config)
    problems = semantic_problems(cfg)
    if not cfg.forums:  # parses, but monitors nothing: not "ok"
        problems.append(f"{cfg.source or args.config}: forums: no forum is configured, so "
                        "nothing would be monitored; add a 'forums:' list (README: Configuration)")
    problems += [f"{cfg.source or args.config}: {p}" for p in path_problems(cfg)]  # store, locks, spool
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return EXIT_CONFIG
    warnings = semantic_warnings(cfg)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{args.config}: ok ({len(cfg.forums)} forums"
          + (f", {len(warnings)} warnings)" if warnings else ")"))
    return 0


def run_test(args: argparse.Namespace) -> int:
    """Fetch one page as the crawl would (Tor, auth, redirects) and show what it sees."""
    from crawler.engines.presets import resolve_selectors

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
    url = args.url or forum.start_urls[0]
    status, redirected, login_ok = 200, False, True
    if args.file:
        try:
            with open(args.file, encoding="utf-8", errors="replace") as fh:
                html = fh.read()
        except OSError as exc:
            print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_CONFIG
    else:
        fetched = _fetch_as_crawl(cfg, forum, url, args.direct)
        if isinstance(fetched, int):
            return fetched
        html, url, status, redirected, login_ok = fetched
    code = show_page(html, url, status, redirected, forum, sel, args.kind)
    return code if login_ok else EXIT_PARTIAL


def _fetch_as_crawl(cfg, forum, url: str, direct: bool):  # type: ignore[no-untyped-def]
    """(html, final url, status, redirected, login ok) or an exit code."""
    from crawler.engines.login import LoginFormError
    from crawler.fetch_once import FetchError, Session
    from crawler.spiders.cookies import CookieFileError, load_cookies

    socks = None
    if not direct:
        from crawler.tor.control import TorUnavailable, ensure_tor_ready

        try:
            socks = ensure_tor_ready(cfg.tor, lambda m: print(m, file=sys.stderr)).socks
        except TorUnavailable as exc:
            print(f"error: Tor unavailable: {exc}", file=sys.stderr)
            return 3
    session = Session(socks, isolation=forum.name, timeout=forum.timeout,
                      tls_verify=forum.tls_verify)
    login_ok = True
    try:
        if forum.auth.cookies_file:
            cookies = load_cookies(forum.auth.cookies_file)
            session.add_cookies(cookies)
            print(f"auth: {len(cookies)} cookies from auth.cookies_file")
        if forum.auth.login:
            login_ok = _login(session, forum)
        page, hops = session.request(url)
    except (FetchError, CookieFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    except LoginFormError as exc:
        print(f"error: login: {exc}; check auth.login.url and auth.login.form", file=sys.stderr)
        return EXIT_PARTIAL
    chain = "".join(f" -> {h.status} redirect to {h.location}" for h in hops)
    print(f"GET {url}{chain} -> {page.status} {page.content_type}")
    if hops:
        print(f"  followed {len(hops)} redirect(s): the page read is {page.url}")
    return page.text, page.url, page.status, bool(hops), login_ok


def _login(session, forum) -> bool:  # type: ignore[no-untyped-def]
    """Log in as the crawl does; print what proves it (or what the page shows instead)."""
    from crawler.engines.login import login_evidence, plan_login
    from crawler.engines.presets import load_preset

    login = forum.auth.login
    defaults = load_preset(forum.engine).login if forum.engine != "custom" else None
    from crawler.engines.presets import resolve_selectors

    form = login.form or (defaults.form if defaults else None) or resolve_selectors(forum).login_form
    page, _ = session.request(login.url)
    plan = plan_login(page.text, page.url, login.username, login.password, form_css=form,
                      username_field=login.username_field, password_field=login.password_field,
                      preset_fields=(defaults.username_field, defaults.password_field)
                      if defaults else None)
    how = "read from the form" if plan.detected else "configured"
    print(f"login: form at {page.url}, fields {plan.username_field!r} / "
          f"{plan.password_field!r} ({how})")
    sub = plan.submission
    done, hops = session.request(sub.url, sub.method, sub.body or None, dict(sub.headers))
    ok, saw = login_evidence(done.text, done.url, login.username, form)
    via = f" (after {len(hops)} redirect(s))" if hops else ""
    print(f"login: {'ok' if ok else 'FAILED'}: {saw}{via}")
    return ok


def show_page(html: str, url: str, status: int, redirected: bool, forum, sel,  # type: ignore[no-untyped-def]
              kind: str = "auto") -> int:
    """Classify the page, show per-field selector matches and the records; the exit code
    is non-zero when the page yields nothing for its kind."""
    from crawler.engines.extract import parse_board, parse_thread
    from crawler.engines.login import wall_reason
    from crawler.engines.probe import field_hits

    board = parse_board(html, url, sel, forum.timezone, language=forum.language)
    thread = parse_thread(html, url, sel, forum.timezone, language=forum.language)
    wall = None
    if not board.threads and not thread.posts:
        wall = wall_reason(html, url, status=status,
                           login_url=forum.auth.login.url if forum.auth.login else None,
                           redirected=redirected, selector_flag=board.logged_out or thread.logged_out,
                           login_form_css=sel.login_form, phrases=forum.auth.logged_out_text)
    if kind == "auto":
        kind = ("board" if board.threads or board.subboards else "thread" if thread.posts
                else "login wall" if wall else "unknown")
    found = {"board": len(board.threads) or len(board.subboards), "thread": len(thread.posts)}
    summary = {
        "board": f"{len(board.threads)} thread rows, {len(board.subboards)} sub-boards",
        "thread": f"{len(thread.posts)} posts",
        "login wall": wall or "",
        "unknown": "no thread rows and no posts: the selectors do not fit this page "
                   "(wrong engine preset, or a page that is neither a board nor a thread)",
    }[kind]
    print(f"page: {kind} ({summary})")
    print("selectors:")
    hits = field_hits(html, url, sel)
    for hit in hits:
        print(f"  {hit.field:<14} {hit.selector!r:<44} {hit.describe()}")
    for hit in hits:
        if hit.ambiguous and hit.scope != "page":
            print(f"  warning: {hit.field} matches {hit.most} nodes in a {hit.scope} and the "
                  f"first is used: check it is the right one (a join date before the post "
                  f"date?) and scope the selector (e.g. '.post-date {hit.selector}')")
    if kind == "board":
        print(f"board: {len(board.threads)} threads, next: {board.next_url or '-'}")
        for t in board.threads:
            print(f"  thread {t.title!r}\n    url {t.url}\n    marker {t.marker!r}")
        for sub in board.subboards:
            print(f"  sub-board {sub}")
        warnings = board.warnings
    elif kind == "thread":
        print(f"thread {thread.title!r}: {len(thread.posts)} posts, next: {thread.next_url or '-'}")
        from crawler.privacy import scrub_text  # identifiers masked, as in the crawl's logs

        lang = thread.languages[0] if thread.languages else "?"
        how = {"configured": "configured", "page": "from <html lang>"}.get(thread.language_source,
                                                                          "default")
        print(f"dates: read in language {lang} ({how}; then {', '.join(thread.languages[1:]) or '-'}), "
              f"zone {forum.timezone}")
        for post in thread.posts:
            print(f"  post {post.post_id} by {post.author!r} at {post.published or '?'}")
            if post.date_text:
                flag = "  WARNING: no time of day (date-without-time)" if post.date_without_time else ""
                print(f"    date   {post.date_text[:60]!r} [{lang}, {forum.timezone}]{flag}")
            print(f"    text   {scrub_text(post.text[:160])!r}")
            if post.quoted_text:
                print(f"    quoted {scrub_text(post.quoted_text[:100])!r}")
        warnings = thread.warnings
    else:
        # Rows or posts matched but nothing came out: the parser's warnings say why.
        warnings = [*board.warnings, *thread.warnings] if kind == "unknown" else []
        if kind == "login wall":
            print("  the page is a login wall: configure auth (cookies_file or login) "
                  "so the crawl can read it")
    for w in warnings:
        print(f"  warning: {w}")
    if found.get(kind):
        return 0
    why = {"board": "a board page without thread rows (the crawl reports no-threads)",
           "thread": "a thread page without posts (the crawl reports no-posts)",
           "login wall": "a login wall: the crawl would read nothing here",
           "unknown": "nothing extracted: the selectors match neither a board nor a thread"}
    print(f"error: {why[kind]}", file=sys.stderr)
    return EXIT_PARTIAL
