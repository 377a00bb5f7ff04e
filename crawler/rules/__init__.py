"""darkwatch's rule engine: a pure library (no Scrapy/Twisted) shared by the crawl and the CLI.

Layout: ``loader`` reads and checks rule files, ``engine`` compiles them into one multi-pattern
matcher, ``nir``/``validators``/``detectors`` recognise identifiers, ``mask``/``fingerprint`` keep
them out of alerts, ``post`` is the crawl's entry point and ``scan`` the dump scanner's.
"""

from pathlib import Path

from crawler.problems import Problem
from crawler.rules.errors import RuleError

# The shipped packs: crawler/rulepacks is a symlink to the top-level rules/ in a checkout and the
# copied files in an installed wheel; resolved so messages name rules/... in a checkout. Used
# when the config names no rule paths.
SHIPPED_RULES = (Path(__file__).resolve().parents[1] / "rulepacks").resolve()

__all__ = ["RuleError", "Problem", "SHIPPED_RULES"]
