"""Scrapy project settings (``scrapy.cfg`` points here).

These are the safe defaults every darkwatch crawl starts from; ``crawler.crawl`` layers
per-forum values (delay, concurrency, timeouts) and the Tor route on top.
"""

BOT_NAME = "darkwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Forums are not search engines: robots.txt is not a crawl contract here, and fetching it
# is one more request on a slow onion for nothing.
ROBOTSTXT_OBEY = False

# Safety: no console, no environment proxies read behind our back, no FTP/S3/file
# handlers (FTP would connect directly). Tor mode replaces http/https handlers.
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control: an HTTP server on localhost that runs posted Python code (token
# written under $HOME). A crawler reading hostile pages opens no listener it does not need.
REMOTE_CONTROL_ENABLED = False
HTTPPROXY_ENABLED = False
# Scrapy parses each callback's source (ast.parse) on first use to warn about `return value` in
# generators: a developer's lint, run mid-crawl on the reactor thread. CPython 3.11.7's
# ast.parse can fail under concurrent compiles ("AST constructor recursion depth mismatch"),
# which lost a page; ruff and the tests lint our callbacks instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
DOWNLOAD_HANDLERS = {"ftp": None, "s3": None, "file": None, "data": None}

# Politeness and Tor-friendly timing; per-forum values override.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5  # +-50% of the delay, so requests do not tick like a metronome
DOWNLOAD_TIMEOUT = 120
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DARKWATCH_RETRY_BACKOFF_BASE = 2.0  # seconds; doubles per attempt, capped below
DARKWATCH_RETRY_BACKOFF_MAX = 60.0

# Hostile pages: bound what one response may cost.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
METAREFRESH_ENABLED = False
DEPTH_LIMIT = 0
COMPRESSION_ENABLED = True

# Tor Browser's design: every user sends the same headers; direct (loopback) crawls match.
from crawler.tor.settings import TOR_BROWSER_HEADERS, TOR_BROWSER_USER_AGENT  # noqa: E402

USER_AGENT = TOR_BROWSER_USER_AGENT
DEFAULT_REQUEST_HEADERS = dict(TOR_BROWSER_HEADERS)
REFERRER_POLICY = "same-origin"
COOKIES_ENABLED = True

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.ForumScopeMiddleware": 50,
    "crawler.middlewares.BackoffMiddleware": 60,
    "crawler.middlewares.LoopbackOnlyMiddleware": 70,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # Scope is ForumScopeMiddleware's job (it also counts what it refuses).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
}
ITEM_PIPELINES = {
    "crawler.pipelines.NoveltyPipeline": 100,
    "crawler.pipelines.RulesPipeline": 300,
    "crawler.pipelines.StorePipeline": 500,
}
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "crawler.extensions.ContentTypeGuard": 10,
    "crawler.interrupt.SignalRecorder": 0,  # which signal stopped the crawl: exit 130/143
}
DARKWATCH_ALLOWED_CONTENT_TYPES = ["text/html", "application/xhtml+xml"]

LOG_LEVEL = "WARNING"
FEED_EXPORT_ENCODING = "utf-8"
