"""darkwatch: dark-web forum monitoring crawler."""

from crawler.netpolicy import forbid_public_suffix_fetch as _no_psl_fetch

__version__ = "0.1.0"

_no_psl_fetch()  # before Scrapy's cookie middleware builds its extractor: no clearnet fetch
