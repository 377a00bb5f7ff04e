"""Scrapy spiders. One generic spider; engines differ only by their selector presets."""
