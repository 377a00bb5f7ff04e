"""darkwatch's rule engine: a pure library (no Scrapy/Twisted) shared by the crawl and the CLI.

Layout: ``loader`` reads and checks rule files, ``engine`` compiles them into one multi-pattern
matcher, ``nir``/``validators``/``detectors`` recognise identifiers, ``mask``/``fingerprint`` keep
them out of alerts, ``post`` is the crawl's entry point and ``scan`` the dump scanner's.
"""

from crawler.problems import Problem
from crawler.rules.errors import RuleError

__all__ = ["RuleError", "Problem"]
