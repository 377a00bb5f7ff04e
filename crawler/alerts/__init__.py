"""Alerting: notifications to the team's channels (apprise), throttling, digests.

Pure Python, no Scrapy/Twisted: the crawl hands alerts to :class:`crawler.alerts.notify.Notifier`
after they are stored. Import submodules directly; this package stays light (apprise is loaded
only by the modules that send).
"""
