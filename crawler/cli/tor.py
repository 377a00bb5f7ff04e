"""``darkwatch tor status``: is Tor usable for a crawl right now?"""

from __future__ import annotations

import argparse

from crawler.cli._common import EXIT_OK, EXIT_TOR, add_config_arg, load_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tor", help="Tor connection checks")
    tsub = p.add_subparsers(dest="tor_command", metavar="ACTION", required=True)
    s = tsub.add_parser(
        "status", help="bootstrap state, version, circuits, and a test fetch through SOCKS",
        description="Exit codes: 0 Tor usable (and the test fetch worked), 3 Tor unavailable "
                    "or the test fetch failed.")
    add_config_arg(s)
    s.add_argument("--url", help="URL to fetch through Tor as a test (default: the first "
                   "enabled forum's first start URL; http:// only)")
    s.add_argument("--no-fetch", action="store_true", help="skip the test fetch")
    s.add_argument("--timeout", type=float, default=60.0, help="test fetch timeout (s)")
    s.set_defaults(handler=status)


def status(args: argparse.Namespace) -> int:
    from crawler.tor.control import (
        TorUnavailable,
        bootstrap_status,
        check_socks,
        open_controller,
        tor_version,
    )
    from crawler.tor.probe import ProbeError, fetch

    cfg = load_or_exit(args.config)
    tor = cfg.tor
    ok = True
    print(f"mode:       {tor.mode}")
    if tor.mode == "launch":
        print("            (launch mode: darkwatch starts its own tor for each crawl; "
              "nothing to attach to)")
        return EXIT_OK
    print(f"socks:      {tor.socks}")
    if tor.control:
        print(f"control:    {tor.control}")
        try:
            with open_controller(tor.control, tor.password) as c:
                pct, summary = bootstrap_status(c)
                print(f"version:    {tor_version(c)}")
                print(f"bootstrap:  {pct}% ({summary})")
                built = [circ for circ in c.get_circuits() if circ.status == "BUILT"]
                print(f"circuits:   {len(built)} built")
                established = c.get_info("status/circuit-established", "0") == "1"
                print(f"circuit established: {'yes' if established else 'no'}")
                ok = ok and pct >= 100
        except TorUnavailable as exc:
            print(f"control:    FAILED: {exc}")
            ok = False
    else:
        print("control:    not configured (no bootstrap/circuit information)")
    try:
        check_socks(tor.socks)
        print("socks port: accepts SOCKS5")
    except TorUnavailable as exc:
        print(f"socks port: FAILED: {exc}")
        return EXIT_TOR
    url = args.url
    if url is None:
        url = next((f.start_urls[0] for f in cfg.forums if f.enabled), None)
    if args.no_fetch or not url:
        print("test fetch: skipped" + ("" if url or args.no_fetch else " (no forum configured; "
                                            "use --url)"))
    else:
        try:
            res = fetch(tor.socks, url, username="darkwatch-status", password="x",  # noqa: S106 - isolation token, not a secret
                        timeout=args.timeout)
            print(f"test fetch: HTTP {res.status} from {url} in {res.seconds:.1f}s")
        except ProbeError as exc:
            print(f"test fetch: FAILED ({exc.kind}): {exc.reason}")
            ok = False
    return EXIT_OK if ok else EXIT_TOR
