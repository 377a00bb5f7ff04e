"""``darkwatch lab up|down|status``: the private Tor network with the fixture forum as an onion.

Registered in the product's CLI through the ``darkwatch.commands`` entry point (lab/pyproject.toml).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from crawler.exitcodes import ExitCode

EXIT_OK = ExitCode.OK
EXIT_LAB = ExitCode.TOR  # the lab is a Tor network: its failure is "Tor unavailable"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="private Tor network on loopback (tests and demo)")
    lsub = p.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = lsub.add_parser(
        "up", help="start the lab and write <dir>/lab.yml",
        description="Start 3 authorities, 3 relays, a client and an onion service pointing at "
                    "the fixture forum (started here unless --forum-port is given); wait until "
                    "the onion answers; write a ready lab.yml. The processes keep running "
                    "until 'darkwatch lab down' (or Ctrl-C with --foreground).")
    _dir(up)
    up.add_argument("--forum-port", type=int, help="serve this local port as the onion service "
                    "instead of starting the fixture forum")
    up.add_argument("--timeout", type=float, default=150.0, help="start-up timeout (s)")
    up.add_argument("--foreground", action="store_true",
                    help="stay in the foreground; Ctrl-C tears the lab down")
    up.set_defaults(handler=cmd_up)
    down = lsub.add_parser("down", help="stop every lab process")
    _dir(down)
    down.set_defaults(handler=cmd_down)
    st = lsub.add_parser("status", help="which lab processes run, onion address, config path")
    _dir(st)
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=cmd_status)


def _dir(p: argparse.ArgumentParser) -> None:
    from darkwatch_lab.tornet import DEFAULT_DIR

    p.add_argument("--dir", default=DEFAULT_DIR, help=f"lab directory (default {DEFAULT_DIR})")


def cmd_up(args: argparse.Namespace) -> int:
    from darkwatch_lab.tornet import LabError, TorLab, install_signal_cleanup

    lab = TorLab(args.dir)

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    install_signal_cleanup(lab)
    try:
        state = lab.up(forum_port=args.forum_port, timeout=args.timeout,
                       detach=not args.foreground, progress=progress)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LAB
    except KeyboardInterrupt:
        lab.down()
        print("interrupted: lab torn down", file=sys.stderr)
        return 130
    print(f"onion:  {state.onion_url}")
    print(f"socks:  {state.socks}")
    print(f"config: {lab.config_path}")
    if args.foreground:
        print("lab running; Ctrl-C to stop", file=sys.stderr)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            lab.down()
            print("lab down", file=sys.stderr)
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    from darkwatch_lab.tornet import TorLab

    lab = TorLab(args.dir)
    was = lab.status().get("running")
    lab.down()
    print("lab down" if was else "lab was not running (cleaned up anything left)")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from darkwatch_lab.tornet import TorLab

    st = TorLab(args.dir).status()
    if args.json:
        print(json.dumps(st, indent=2))
    elif not st.get("running") and "nodes" not in st:
        print(f"no lab in {st['dir']}")
    else:
        print(f"running: {'yes' if st['running'] else 'PARTIAL'}")
        for k in ("onion", "socks", "control", "config"):
            print(f"{k}: {st[k]}")
        nodes = st["nodes"]
        assert isinstance(nodes, dict)
        down = [n for n, alive in nodes.items() if not alive]
        print(f"processes: {len(nodes) - len(down)}/{len(nodes)} alive"
              + (f" (down: {', '.join(down)})" if down else ""))
    return EXIT_OK if st.get("running") else 1
