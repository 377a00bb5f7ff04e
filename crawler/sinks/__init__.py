"""Where posts and alerts go: the embedded SQLite store by default, Elasticsearch when configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.config import Config
    from crawler.sinks.base import AlertIndex, Sink
    from crawler.sinks.sqlite import SqliteStore


def open_state(cfg: Config) -> SqliteStore:
    """The local store: crawl state, and posts/alerts when no other sink is configured."""
    from crawler.sinks.sqlite import SqliteStore

    store = SqliteStore(cfg.store.sqlite)
    store.incident_growth = cfg.alerts.incident_growth
    return store


def open_sink(cfg: Config, state: SqliteStore) -> Sink:
    """Elasticsearch when configured, else the SQLite store itself."""
    if cfg.store.elasticsearch is not None:
        from crawler.sinks.elasticsearch import ElasticsearchSink

        return ElasticsearchSink(cfg.store.elasticsearch)
    return state


def open_alert_index(cfg: Config) -> AlertIndex:
    """Where analysts triage: the same place alerts are written."""
    if cfg.store.elasticsearch is not None:
        from crawler.sinks.elasticsearch import ElasticsearchSink

        return ElasticsearchSink(cfg.store.elasticsearch)
    return open_state(cfg)
