"""Re-export: masking lives in :mod:`crawler.privacy` (kept while ``crawler.rules.engine`` imports it)."""

from crawler.privacy.identifiers import mask_generic, mask_spans, snippet

__all__ = ["mask_generic", "mask_spans", "snippet"]
