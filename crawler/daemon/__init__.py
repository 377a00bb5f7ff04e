"""``darkwatch run --daemon``: one long-running process that schedules per-forum crawls.

Each crawl runs as a child ``darkwatch crawl --forum NAME`` process: Twisted's reactor cannot be
restarted in-process, and a child's memory is returned to the system when it exits. The daemon
itself stays small: the schedule (``scheduler``, pure time math), the child processes and config
reloads (``runner``), and the in-memory metrics served on ``/metrics`` (``metrics``). Nothing here
imports Scrapy or Twisted.
"""
