"""Distributed crawling on Redis: one shared request queue per forum, N worker processes.

``darkwatch crawl --distributed redis://...`` is the coordinator of one crawl round: it takes
each forum's lock in Redis, seeds the forum's board pages into the shared queue, waits until
the queue and every worker's in-flight set are empty, and reports like a local crawl.
``darkwatch worker redis://...`` runs one Scrapy crawler per forum whose scheduler is
scrapy-redis's, extended so that a request popped by a worker that dies is re-queued.

Layout: ``keys`` (Redis key names), ``codec`` (requests as JSON, not pickle), ``queue``
(reliable pop/ack), ``scheduler``, ``ratelimit`` (per-forum politeness held in Redis),
``spider`` (the forum spider's distributed variant), ``stats``, ``worker``, ``coordinator``.
"""
