"""The Tor layer: every darkwatch request goes through Tor's SOCKS port, or nowhere.

- ``handler``: Scrapy download handler speaking SOCKS5 (hostname to Tor, per-forum auth).
- ``socks``: the SOCKS5 client protocol on Twisted, and Tor's error codes.
- ``settings``: the Scrapy settings a Tor-mode crawl of one forum merges in.
- ``control``: stem: attach to or launch tor, wait for bootstrap, NEWNYM.
- ``probe``: blocking one-shot fetch through SOCKS (status checks, lab readiness).
"""
