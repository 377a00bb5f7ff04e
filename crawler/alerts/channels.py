"""One apprise URL = one channel with its own worker thread, so a dead mail relay never delays
the webhook, and the crawl never waits on either.

apprise is the library because it speaks mail, webhooks, Slack, Teams, Matrix, ... behind one URL
syntax the team already writes in YAML; we add bounded retries, timeouts and secret-free logs.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from urllib.parse import parse_qsl, urlsplit

from crawler.privacy import SecretFilter, install_secret_filter, redact_url, uninstall_secret_filter

log = logging.getLogger("crawler.alerts")

QUEUE_MAX = 1000
BACKOFF_BASE = 0.5  # seconds; doubles per retry
BACKOFF_MAX = 8.0
# apprise spaces requests to one service (5.5 s by default, a guard against spamming); our
# per-(rule, thread) throttle already bounds volume, so a second is enough between messages.
MAX_SPACING = 1.0


def _asset(timeout: float):
    import apprise

    # Memory storage: cron jobs must not scatter apprise caches in $HOME. service_timeout
    # bounds one whole delivery (spacing + connect + read) even when a plugin ignores the
    # socket timeouts.
    return apprise.AppriseAsset(
        app_id="darkwatch", app_desc="darkwatch alerts", storage_mode="memory",
        service_timeout=2 * timeout + MAX_SPACING + 1.0, async_mode=False,
    )


def _has_query(url: str, *keys: str) -> bool:
    try:
        return any(k in keys for k, _ in parse_qsl(urlsplit(url).query))
    except ValueError:
        return False


def instantiate(url: str, timeout: float):
    """The apprise plugin for ``url`` with our timeouts (unless the URL sets cto/rto), or None."""
    import apprise

    plugin = apprise.Apprise.instantiate(url, asset=_asset(timeout))
    if plugin is None:
        return None
    if not _has_query(url, "cto"):
        plugin.socket_connect_timeout = timeout
    if not _has_query(url, "rto"):
        plugin.socket_read_timeout = timeout
    plugin.request_rate_per_sec = min(float(plugin.request_rate_per_sec or 0.0), MAX_SPACING)
    return plugin


def validate_channels(urls: list[str] | tuple[str, ...]) -> list[str]:
    """Problems with the ``alerts.channels`` apprise URLs, one line each, secrets redacted.

    Used by ``forums lint``; an empty list means every URL is loadable by apprise.
    """
    problems: list[str] = []
    filt = SecretFilter()
    for u in urls:
        filt.add_url(str(u))
    install_secret_filter(filt)
    # apprise explains rejections at WARNING/ERROR on its logger: capture them for the message.
    capture = _Capture(filt)
    alog = logging.getLogger("apprise")
    alog.addHandler(capture)
    propagate, alog.propagate = alog.propagate, False
    try:
        for i, url in enumerate(urls):
            where = f"alerts.channels[{i}]"
            if not isinstance(url, str) or not url.strip():
                problems.append(f"{where}: empty channel URL; write an apprise URL such as "
                                "'mailto://user:pass@smtp.example.org?to=soc@example.org' or 'json://host/path'")
                continue
            if "://" not in url:
                problems.append(f"{where}: {redact_url(url)!r} is not a URL: an apprise URL starts "
                                "with a scheme such as mailto://, json://, slack://")
                continue
            scheme = url.split("://", 1)[0].strip().lower()
            if scheme not in _schemes():
                problems.append(f"{where}: {redact_url(url)!r}: unknown apprise service {scheme[:20]!r} "
                                "(e.g. mailto, mailtos, json, slack, msteams, matrix; see "
                                "https://github.com/caronc/apprise/wiki)")
                continue
            capture.messages.clear()
            try:
                plugin = instantiate(url.strip(), timeout=10.0)
            except Exception as exc:  # apprise raises on some malformed inputs
                plugin = None
                capture.messages.append(filt.redact(str(exc)))
            if plugin is None:
                why = "; ".join(dict.fromkeys(capture.messages)) or "apprise cannot load it"
                problems.append(f"{where}: {redact_url(url)!r} is not a valid apprise URL ({why}); "
                                "see https://github.com/caronc/apprise/wiki for the syntax of each service")
    finally:
        alog.removeHandler(capture)
        alog.propagate = propagate
        uninstall_secret_filter(filt)
    return problems


def _schemes() -> set[str]:
    from apprise.manager_plugins import NotificationManager

    return {str(x).lower() for x in NotificationManager().schemas()}


class _Capture(logging.Handler):
    def __init__(self, filt: SecretFilter) -> None:
        super().__init__(level=logging.WARNING)
        self.filt = filt
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.filt.redact(record.getMessage()))


class Channel:
    """Delivers messages to one apprise URL from a background thread.

    Each message gets ``retries`` extra attempts with exponential backoff; after a message has
    exhausted them the channel is marked down and later messages get a single attempt until one
    succeeds, so a dead channel costs one timeout per message, not a retry storm.
    """

    def __init__(self, url: str, timeout: float = 10.0, retries: int = 2) -> None:
        self.url = url
        self.name = redact_url(url)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.down = False
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_MAX)
        self._stop = threading.Event()
        self._apprise = None
        plugin = instantiate(url, timeout)
        if plugin is None:
            raise ValueError(f"{self.name} is not a valid apprise URL")
        import apprise

        self._apprise = apprise.Apprise(asset=_asset(timeout))
        self._apprise.add(plugin)
        self._thread = threading.Thread(target=self._run, name=f"darkwatch-alerts {self.name}", daemon=True)
        self._thread.start()

    def submit(self, title: str, body: str, notify_type: str = "info") -> Future:
        """Queue a message; the future resolves to True once delivered, False once given up."""
        fut: Future = Future()
        try:
            self._queue.put_nowait((title, body, notify_type, fut))
        except queue.Full:
            log.error("alert channel %s: %d messages already queued, dropping one (%s)",
                      self.name, QUEUE_MAX, title)
            self.failed += 1
            fut.set_result(False)
        return fut

    def _attempt(self, title: str, body: str, notify_type: str) -> bool:
        try:
            return bool(self._apprise.notify(body=body, title=title, notify_type=notify_type,
                                             body_format="text"))
        except Exception as exc:  # a plugin bug must not kill the worker
            log.warning("alert channel %s raised %s: %s", self.name, type(exc).__name__, exc)
            return False

    def _deliver(self, title: str, body: str, notify_type: str) -> bool:
        attempts = 1 if self.down else 1 + self.retries
        for i in range(attempts):
            if self._attempt(title, body, notify_type):
                if self.down:
                    log.info("alert channel %s is back", self.name)
                self.down = False
                return True
            if i + 1 < attempts:
                delay = min(BACKOFF_MAX, BACKOFF_BASE * 2**i)
                log.warning("alert channel %s: delivery failed (attempt %d/%d), retrying in %.1fs",
                            self.name, i + 1, attempts, delay)
                if self._stop.wait(delay):
                    break
        self.down = True
        if self._stop.is_set():
            return False  # close() already reported what was abandoned
        log.error("alert channel %s: gave up on %r after %d attempt(s); the alert stays in the "
                  "store (darkwatch alerts list)", self.name, title, attempts)
        return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            title, body, notify_type, fut = item
            if self._stop.is_set():  # past the run's deadline: abandon, do not keep sending
                self.failed += 1
                fut.set_result(False)
                continue
            ok = self._deliver(title, body, notify_type)
            self.sent += ok
            self.failed += not ok
            with contextlib.suppress(Exception):
                fut.set_result(ok)

    def close(self, deadline: float) -> int:
        """Deliver what is queued until ``deadline`` (time.monotonic); return messages abandoned."""
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._stop.set()  # cut backoff sleeps short; the daemon thread dies with the process
            left = self._queue.qsize()  # the end marker stands in for the message in flight
            log.error("alert channel %s: %d message(s) not delivered before the end of the run",
                      self.name, left)
            return left
        return 0
