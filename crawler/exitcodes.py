"""The exit codes of every darkwatch command, declared once.

Cron, systemd units (``SuccessExitStatus=``), the daemon and the README all read these numbers:
they are a contract, so each has one name here and the CLI, the crawl runner and the
distributed coordinator use it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1  # some forum failed (or, for `rules test`, a test failed)
    CONFIG = 2  # bad config, rules, usage or local store: nothing fetched
    TOR = 3  # Tor (or the private Tor lab) unavailable: nothing fetched
    STORE = 4  # Elasticsearch unavailable at the end of the run: documents spooled
    QUEUE = 5  # Redis unavailable (--distributed): nothing seeded
    STORE_WRITE = 6  # the local SQLite store failed a write mid-crawl (disk full, I/O error)
    INTERRUPTED = 130  # 128 + SIGINT: stopped by Ctrl-C, not a failure
    PIPE = 141  # 128 + SIGPIPE: stdout's reader went away
    TERMINATED = 143  # 128 + SIGTERM: stopped by the daemon or systemd, not a failure
