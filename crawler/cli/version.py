"""``darkwatch version``."""

from __future__ import annotations

import argparse
import platform


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("version", help="print versions of darkwatch and its engines")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from crawler import __version__

    print(f"darkwatch {__version__}")
    for dist in ("scrapy", "twisted", "stem", "elasticsearch", "google-re2", "pyahocorasick"):
        try:
            print(f"  {dist} {version(dist)}")
        except PackageNotFoundError:
            print(f"  {dist} (not installed)")
    print(f"  python {platform.python_version()}")
    from crawler.shipped import SHIPPED_RULES

    print(f"shipped rules: {SHIPPED_RULES}")  # the default rules.paths
    return 0
