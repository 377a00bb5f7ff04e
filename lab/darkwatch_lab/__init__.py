"""darkwatch's lab: fixture forums, the private Tor network and a throw-away redis, for the tests,
the benches and ``darkwatch demo``; a separate distribution (lab/pyproject.toml) so the product
wheel and image never carry test tooling.

The ``lab`` and ``demo`` commands reach the product's CLI through the ``darkwatch.commands`` entry
point group (darkwatch_lab.cli).
"""

from darkwatch_lab.forum import DEFAULT_PASSWORD, DEFAULT_USER, FAULT_BOARD, PRIVATE_BOARD, FixtureForum

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USER", "FAULT_BOARD", "PRIVATE_BOARD", "FixtureForum"]
