"""Which shutdown signal (SIGTERM/SIGINT) stopped this crawl, so it exits 128+N, not as a failure.

Scrapy stops a crawl gracefully on the first SIGTERM/SIGINT (the spiders close with reason
``shutdown``) but does not say which signal it was. Two pieces record it:

- ``installed()``: before the reactor runs (config, Tor bootstrap, store), a signal raises
  ``Interrupted``: the CLI says "nothing crawled" and exits 128+N instead of a traceback or a
  silent death. A library that swallows it (stem's bare ``except:`` while it waits for Tor)
  cannot keep the process alive: it exits anyway ``GRACE`` seconds later.
- ``SignalRecorder`` (a Scrapy extension): once Scrapy has installed its own handlers (an
  "after startup" reactor trigger), each is wrapped to record the signal, then call Scrapy's.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE = 10.0  # seconds for ``Interrupted`` to unwind before the process exits regardless
_received: int | None = None
_armed = False


class Interrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt: not an error to catch broadly
    """A stop signal arrived before the crawl started fetching."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def received() -> int | None:
    """The first stop signal this process received, if any."""
    return _received


def exit_code(default: int = signal.SIGTERM) -> int:
    """The shell convention for a process stopped by a signal: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (_received or default)


def name(default: int = signal.SIGTERM) -> str:
    return signal.Signals(_received or default).name


def _record(signum: int) -> None:
    global _received
    if _received is None:
        _received = signum


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Until Scrapy takes the signals over, a stop signal raises ``Interrupted`` (main thread
    only). On exit, handlers still ours (Scrapy never started: every forum skipped, a refusal)
    are put back as they were; Scrapy's stay, so a late signal cannot cut the report short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        _record(signum)
        timer = threading.Timer(GRACE, _exit_now, (signum,))
        timer.daemon = True
        timer.start()
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, old)


def _exit_now(signum: int) -> None:
    import os

    os.write(2, f"stopped by {signal.Signals(signum).name}: nothing crawled\n".encode())
    os._exit(128 + signum)


def _wrap_handlers() -> None:
    for sig in STOP_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            _record(signum)
            previous(signum, frame)

        signal.signal(sig, handler)


class SignalRecorder:
    """Scrapy extension: record the stop signal Scrapy's own handler reacts to (see module doc)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> SignalRecorder:
        global _armed
        if not _armed and crawler.settings.getbool("TWISTED_REACTOR_ENABLED", True):
            _armed = True
            from twisted.internet import reactor

            if reactor.running:
                _wrap_handlers()
            else:
                # An "after startup" trigger added while the "during" phase fires runs after every
                # trigger registered before, Scrapy's handler installation included.
                reactor.addSystemEventTrigger("during", "startup", reactor.addSystemEventTrigger,
                                              "after", "startup", _wrap_handlers)
        return cls()
