"""The crawl's entry point to alerting: ``Notifier(cfg, state_path)``, ``notify(alerts)``, ``close()``.

``notify`` decides (throttle window, level) synchronously and cheaply, then hands the message to
per-channel worker threads: it returns in milliseconds whatever the channels do. ``close`` sends
the digest and waits a bounded time for the queues. Nothing here raises into the crawl.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from crawler.alerts.channels import Channel, validate_channels
from crawler.alerts.message import format_alert, format_digest
from crawler.alerts.throttle import ThrottleState
from crawler.config.alerts import AlertsConfig
from crawler.config.duration import parse_duration
from crawler.model import Alert
from crawler.privacy import SecretFilter, install_secret_filter, redact_url, uninstall_secret_filter
from crawler.vocabulary import at_least, level_rank

__all__ = ["Notifier", "notify_type", "validate_channels"]

log = logging.getLogger("crawler.alerts")


def notify_type(level: str) -> str:
    """apprise's message type (colour/icon on chat channels) for a level."""
    rank = level_rank(level)
    return "failure" if rank >= level_rank("high") else "warning" if rank >= level_rank("medium") else "info"


class Notifier:
    def __init__(self, cfg: AlertsConfig, state_path: str) -> None:
        self.cfg = cfg
        self.window = parse_duration(cfg.throttle)
        self.stats = {"sent": 0, "suppressed": 0, "duplicate": 0, "below_level": 0, "queued_digest": 0}
        self._filter = SecretFilter()
        for url in cfg.channels:
            self._filter.add_url(url)
        install_secret_filter(self._filter)
        self.channels: list[Channel] = []
        for i, url in enumerate(cfg.channels):
            try:
                self.channels.append(Channel(url, timeout=cfg.timeout, retries=cfg.retries))
            except Exception as exc:
                log.error("alerts.channels[%d] %s is unusable, skipped (%s); run `darkwatch forums lint`",
                          i, redact_url(url), exc)
        self.state: ThrottleState | None = None
        if self.channels:
            try:
                self.state = ThrottleState(state_path, self.window)
            except Exception as exc:
                log.error("alert throttle state %s unusable (%s): notifying without throttling",
                          state_path, exc)
        self._closed = False

    # -- crawl side -------------------------------------------------------------------
    def notify(self, alerts: Sequence[Alert]) -> None:
        """Notify (or count, or queue for the digest) each alert; never raises."""
        if not self.channels or self._closed:
            return
        for alert in alerts:
            try:
                self._one(alert)
            except Exception:
                log.exception("alert %s: notification failed", getattr(alert, "id", "?"))

    def _one(self, alert: Alert) -> None:
        self._decide_and_send(alert, lambda held: format_alert(alert, held, self.cfg.kibana_url))

    def notify_incident(self, incident: Any, why: str, related: Sequence[dict] = ()) -> None:
        """One notice for an incident that was created, escalated or grew; never raises.

        The same level filter, throttle window and digest as alerts (see ``incidents.notice``)."""
        if not self.channels or self._closed:
            return
        from crawler.incidents.notice import as_alert, format_incident

        try:
            alert = as_alert(incident, why)
            self._decide_and_send(alert, lambda held: format_incident(
                incident, why, related, held, self.cfg.kibana_url))
        except Exception:
            log.exception("incident %s: notification failed", getattr(incident, "id", "?"))

    def _decide_and_send(self, alert: Alert, render: Callable[[int], tuple[str, str]]) -> None:
        """Level filter, throttle, digest queue, then the channels: one path for alerts and
        incidents (``render(held_back)`` gives the title and body)."""
        if not at_least(alert.level, self.cfg.min_level):
            self.stats["below_level"] += 1
            return
        decision, held = self.state.decide(alert) if self.state else ("send", 0)
        if decision != "send":
            self.stats[decision] += 1
            return
        if self.cfg.digest and self.state is not None:  # no state file: send now rather than lose it
            self.state.enqueue(alert, held)
            self.stats["queued_digest"] += 1
            return
        title, body = render(held)
        self._broadcast(title, body, notify_type(alert.level))
        self.stats["sent"] += 1

    def _broadcast(self, title: str, body: str, ntype: str) -> list:
        return [ch.submit(title, body, ntype) for ch in self.channels]

    # -- end of run -------------------------------------------------------------------
    def close(self) -> None:
        """Send the digest (queued alerts and held-back counts), drain the channels, bounded."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + self.cfg.close_timeout
        try:
            if self.channels and self.state is not None:
                self._send_digest(deadline)
        except Exception:
            log.exception("alert digest failed")
        finally:
            for ch in self.channels:
                ch.close(deadline)
            if self.state is not None:
                self.state.close()
            uninstall_secret_filter(self._filter)
            log.info("alerts: %s", ", ".join(f"{k}={v}" for k, v in self.stats.items()))

    def undelivered(self) -> dict[str, int]:
        """Messages each channel gave up on or abandoned at the deadline (channel URLs
        redacted): they were not delivered, the alerts stay in the store."""
        return {ch.name: ch.failed for ch in self.channels if ch.failed}

    def _send_digest(self, deadline: float) -> None:
        assert self.state is not None
        queued = self.state.queued() if self.cfg.digest else []
        pending = self.state.pending()
        pending = [p for p in pending if at_least(p.level, self.cfg.min_level)]
        if not queued and not pending:
            return
        title, body = format_digest(queued, pending, self.cfg.kibana_url)
        top = max([a.level for a, _ in queued] + [p.level for p in pending], key=level_rank)
        futures = self._broadcast(title, body, notify_type(top))
        delivered = False
        for fut in futures:
            with contextlib.suppress(Exception):  # timeout: the channel is still trying
                delivered |= bool(fut.result(timeout=max(0.0, deadline - time.monotonic())))
        if delivered:
            # Reported once: held-back counts restart, queued alerts leave the queue.
            self.state.mark_reported(pending)
            self.state.dequeue([a.id for a, _ in queued])
        else:
            log.error("alert digest reached no channel; it will be sent again after the next run")

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
