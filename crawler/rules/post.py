"""The crawl's entry point: rules over :class:`crawler.model.Post`, alerts out, hot reload.

The Scrapy pipeline (``crawler.pipelines.RulesPipeline``) wraps this; nothing here imports Scrapy.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

from crawler.model import Alert, Post
from crawler.privacy import mask_spans, scrub, snippet
from crawler.problems import Problem
from crawler.rules.engine import Firing, Hit, RuleSet
from crawler.rules.errors import RuleError
from crawler.rules.fingerprint import FingerprintKeyMissing, fingerprint, resolve_key
from crawler.rules.loader import load_rules, mtimes, superseded_by

if TYPE_CHECKING:  # the config models: not loaded by `darkwatch scan`, which needs none
    from crawler.config.rules import RulesConfig

logger = logging.getLogger(__name__)

# Post attribute behind each rule field name.
POST_FIELDS = {"title": "thread_title", "text": "text", "quoted_text": "quoted_text", "author": "author"}
MAX_SAMPLES = 10
# Hits kept per pattern and field of one post: alerts need counts and samples, and a hostile
# post must not make the crawl hold millions of hits. A dump is scanned with `darkwatch scan`.
MAX_HITS_PER_POST = 20_000


def post_fields(post: Post) -> dict[str, str]:
    return {f: getattr(post, attr) or "" for f, attr in POST_FIELDS.items()}


class Evaluator:
    """Turns firings into match dicts and alert parts; shared by the crawl and ``darkwatch scan``."""

    def __init__(self, key: bytes, reveal: bool = False, max_samples: int = MAX_SAMPLES) -> None:
        self.key = key
        self.reveal = reveal
        self.max_samples = max_samples
        self._fp: dict[str, str] = {}

    def fingerprint(self, canonical: str) -> str:
        fp = self._fp.get(canonical)
        if fp is None:
            if len(self._fp) > 100_000:
                self._fp.clear()
            fp = self._fp[canonical] = fingerprint(self.key, canonical)
        return fp

    def match_dict(self, firing: Firing, field: str, pattern: str, hit: Hit) -> dict[str, Any]:
        meta = firing.rule.loaded.rule
        d: dict[str, Any] = {
            "rule": {"id": meta.id, "name": meta.name, "title": meta.title, "level": meta.level},
            "pattern": pattern, "field": field, "start": hit.start, "end": hit.end,
            "masked": hit.masked, "fingerprint": self.fingerprint(hit.canonical),
        }
        if self.reveal:
            d["value"] = hit.value
        return d


def _all_masks(scanned: dict[str, Any], ruleset: RuleSet) -> dict[str, list[tuple[int, int, str]]]:
    """Per field, every span a masking pattern matched (any rule): snippets hide them all."""
    masking = {c.pid for c in ruleset.matcher.patterns if c.mask}
    return {f: [(h.start, h.end, h.masked) for pid, hs in hits.items() if pid in masking for h in hs]
            for f, hits in scanned.items()}


class PostRules:
    """Rules loaded from ``RulesConfig.paths``, applied to posts, reloaded when files change."""

    def __init__(self, cfg: RulesConfig, key: bytes) -> None:
        self.cfg = cfg
        self.evaluator = Evaluator(key, reveal=cfg.reveal, max_samples=cfg.max_samples)
        self._reload_requested = threading.Event()
        self._load()

    @classmethod
    def from_config(cls, cfg: RulesConfig, ephemeral_key_ok: bool = False) -> PostRules:
        """Raises :class:`RuleError` (``.problems``) on an invalid rule set or a missing key."""
        try:
            key = resolve_key(cfg.fingerprint_key, ephemeral_key_ok, warn=logger.warning,
                              key_file=cfg.fingerprint_key_file)
        except FingerprintKeyMissing as exc:
            raise RuleError([Problem("rules.fingerprint_key", 1, 1, str(exc))]) from None
        return cls(cfg, key)

    def _load(self) -> None:
        stamp = mtimes(self.cfg.paths)
        rules, _ = load_rules(self.cfg.paths)  # raises RuleError
        self.rules = rules
        self.ruleset = RuleSet(rules)
        by_name = {lr.rule.name: lr for lr in rules}
        self.outranks = {name: superseded_by(name, by_name) for name in by_name}
        self._stamp = stamp

    def request_reload(self) -> None:
        """Ask for a reload at the next :meth:`maybe_reload` (safe from a SIGHUP handler)."""
        self._reload_requested.set()

    def maybe_reload(self) -> list[str] | None:
        """Reload if asked to or if a rule file changed; on a broken edit keep the last good set
        and return its problems (``None`` when nothing was wrong)."""
        forced = self._reload_requested.is_set()
        self._reload_requested.clear()
        if not forced and mtimes(self.cfg.paths) == self._stamp:
            return None
        try:
            self._load()
        except RuleError as exc:
            self._stamp = mtimes(self.cfg.paths)  # report a broken edit once, not every check
            return exc.problems
        logger.info("rules reloaded: %d rules", len(self.ruleset.rules))
        return None

    def apply(self, post: Post) -> list[Alert]:
        if not self.cfg.enabled:
            return []
        doc = post_fields(post)
        scanned = self.ruleset.scan_fields(doc, MAX_HITS_PER_POST)
        firings = self.ruleset.evaluate(doc, scanned)
        masks = _all_masks(scanned, self.ruleset)
        post.masked = {POST_FIELDS[f]: mask_spans(doc[f], spans)
                       for f, spans in masks.items() if spans}
        ev = self.evaluator
        matches: list[dict[str, Any]] = []
        alerts: list[Alert] = []
        fired = {f.rule.loaded.rule.name for f in firings}
        outranked = set().union(*(self.outranks.get(n, set()) for n in fired))
        for firing in firings:
            counts: dict[str, int] = {}
            samples: list[str] = []
            fps: list[str] = []
            for field, pattern, hit in firing.hits:
                matches.append(ev.match_dict(firing, field, pattern, hit))
                counts[pattern] = counts.get(pattern, 0) + 1
                fp = ev.fingerprint(hit.canonical)
                if fp not in fps:
                    fps.append(fp)
                    if len(samples) < ev.max_samples:
                        samples.append(hit.masked)
            snip = ""
            if firing.hits:
                field, _p, first = firing.hits[0]
                snip = snippet(doc[field], first.start, first.end, masks.get(field, []))
            name = firing.rule.loaded.rule.name
            if name in outranked:
                continue  # its matches stay on the post; the outranking rule's alert names it
            alerts.append(Alert(
                rule=firing.rule.loaded.meta(), forum=post.forum, thread_url=scrub(post.thread_url),
                thread_title=scrub(post.masked.get("thread_title", post.thread_title)),
                post_id=post.post_id, post_url=scrub(post.url),
                published=post.published, counts=counts, masked=samples, fingerprints=fps,
                snippet=scrub(snip),
                related_rules=sorted(self.outranks.get(name, set()) & fired)))
        post.matches = matches
        return alerts


def install_sighup_reload(rules: PostRules) -> bool:
    """Make SIGHUP ask ``rules`` for a reload (applied at the next ``maybe_reload``).

    Chains any previous handler. Returns False where signals cannot be installed (not the main
    thread, or a platform without SIGHUP).
    """
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None or threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.getsignal(sighup)

    def handler(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
        rules.request_reload()
        if callable(previous):
            previous(signum, frame)

    signal.signal(sighup, handler)
    return True
