"""The lab's commands for ``darkwatch``: each module defines ``register(subparsers)`` like the
product's command modules, and lab/pyproject.toml lists it in the ``darkwatch.commands`` entry
point group, which crawler.cli loads (only the one named on the command line)."""
