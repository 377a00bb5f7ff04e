"""``darkwatch run``: crawl each forum on its own schedule (``every``/``cron``), as a daemon or one pass."""

from __future__ import annotations

import argparse
import logging
import sys

from crawler.cli._common import EXIT_CONFIG, add_config_arg
from crawler.daemon.scheduler import DEFAULT_BACKOFF_MAX


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="crawl forums on their schedules (--daemon) or what is due now (--once)",
        description="Schedule per-forum crawls (forums[].every or forums[].cron; default every 1h). "
                    "Each crawl is a child `darkwatch crawl --forum NAME` process. The config and "
                    "rule files are reloaded when they change or on SIGHUP; SIGTERM/SIGINT stop "
                    "cleanly (exit 0). A failing forum is retried 1, 2, 4... intervals after its "
                    "failed crawl ended, at most --backoff-max intervals, until it succeeds.",
    )
    add_config_arg(p)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--daemon", action="store_true", help="run until SIGTERM/SIGINT")
    mode.add_argument("--once", action="store_true",
                      help="start the forums due now (per the store's run history), wait, exit with "
                           "the worst crawl exit code")
    p.add_argument("--direct", action="store_true",
                   help="crawls connect without Tor; only for loopback test servers")
    p.add_argument("--metrics-addr", metavar="HOST:PORT",
                   help="serve Prometheus /metrics here (e.g. 127.0.0.1:9464; loopback only unless "
                        "--metrics-allow-remote)")
    p.add_argument("--metrics-allow-remote", action="store_true",
                   help="allow a non-loopback --metrics-addr (put it behind a firewall)")
    p.add_argument("--metrics-file", metavar="FILE",
                   help="also keep a node_exporter textfile (*.prom) updated after each crawl")
    p.add_argument("--max-parallel", type=int, default=2, metavar="N",
                   help="crawl processes at most at once (default 2)")
    p.add_argument("--stop-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="on stop, wait this long for crawls to finish after SIGTERM, then kill them")
    p.add_argument("--backoff-max", type=float, default=DEFAULT_BACKOFF_MAX, metavar="N",
                   help="a failing forum waits at most N of its intervals between attempts "
                        f"(default {DEFAULT_BACKOFF_MAX:g})")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="log lines as text (default) or JSON objects (also passed to the crawls)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="crawl log output (-v info, -vv debug); the daemon logs at info level")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crawler.config import ConfigError
    from crawler.daemon.metrics import DaemonMetrics, is_loopback, parse_addr, serve
    from crawler.daemon.runner import Daemon, Options
    from crawler.metrics import MetricsState
    from crawler.rules.errors import RuleError

    _setup_logging(args.log_format)
    log = logging.getLogger("crawler.daemon")
    if args.max_parallel < 1:
        print("error: --max-parallel must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    if not 1 <= args.backoff_max < 1e6:  # NaN and inf fail too
        print("error: --backoff-max must be at least 1 (interval)", file=sys.stderr)
        return EXIT_CONFIG
    addr = None
    if args.metrics_addr:
        try:
            addr = parse_addr(args.metrics_addr)
        except ValueError as exc:
            print(f"error: --metrics-addr: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if not args.metrics_allow_remote and not is_loopback(addr[0]):
            print(f"error: --metrics-addr {args.metrics_addr} is not a loopback address; metrics "
                  "name the forums watched: pass --metrics-allow-remote to expose them",
                  file=sys.stderr)
            return EXIT_CONFIG
    child_args = ["--log-format", args.log_format] + (["-" + "v" * args.verbose] if args.verbose else [])
    opts = Options(config=args.config, direct=args.direct, metrics_file=args.metrics_file,
                   max_parallel=args.max_parallel, stop_timeout=args.stop_timeout,
                   backoff_max=args.backoff_max, child_args=child_args)
    state = MetricsState.load(args.metrics_file) if args.metrics_file else MetricsState()
    daemon = Daemon(opts, DaemonMetrics(state))
    daemon.install_signals()  # before the first load: a SIGTERM during start-up still exits 0
    try:
        cfg = daemon.load()
    except (ConfigError, RuleError) as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    server = None
    if addr is not None:
        try:
            server, _thread = serve(daemon.metrics, *addr)
        except OSError as exc:
            print(f"error: cannot serve metrics on {args.metrics_addr}: {exc}", file=sys.stderr)
            daemon.shutdown()
            return EXIT_CONFIG
        host, port = server.server_address[:2]
        log.info("metrics on http://%s:%d/metrics", f"[{host}]" if ":" in host else host, port)
    enabled = [f.name for f in cfg.forums if f.enabled]
    log.info("%s: %d forum(s) scheduled: %s", "daemon started" if args.daemon else "one pass",
             len(enabled), ", ".join(enabled) or "none")
    try:
        code = daemon.run(once=args.once)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    log.info("stopped")
    return code


def _setup_logging(fmt: str) -> None:
    if fmt == "json":
        from crawler import logjson

        logjson.install("INFO")
    else:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
