"""The shape of a rule file, as pydantic models; ``rules/schema.json`` is generated from them.

Structural checks live here (types, required keys, allowed values); the loader adds the semantic
ones (condition names, RE2 compilation, duplicate ids) with ``file:line:col`` positions.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crawler.rules.detectors import DETECTORS as _DETECTORS
from crawler.rules.validators import VALIDATORS
from crawler.vocabulary import Level

FIELDS = ("title", "text", "quoted_text", "author")
Field_ = Literal["title", "text", "quoted_text", "author"]
DEFAULT_FIELDS: tuple[Field_, ...] = ("text", "title")
DETECTORS = tuple(_DETECTORS)  # names, from the registry (crawler.rules.detectors)
UUID_RE = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Pattern(BaseModel):
    """Exactly one of ``keywords``, ``regex`` or ``detector``."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] | None = Field(default=None, min_length=1,
                                       description="literal words/phrases, matched with folding")
    regex: str | None = Field(default=None, description="RE2 syntax (no backreferences/lookaround)")
    detector: str | None = Field(default=None, description="built-in identifier finder: "
                                 + "; ".join(f"{d.name} ({d.description})"
                                             for d in _DETECTORS.values()))
    validator: str | None = Field(default=None, description="check each regex match: "
                                  + ", ".join(VALIDATORS))
    case: Literal["insensitive", "sensitive"] = Field(
        default="insensitive", description="keywords and regexes: ignore letter case (default); "
        "'sensitive' for shapes whose case matters (a passport number's capitals)")
    accents: Literal["insensitive", "sensitive"] = "insensitive"
    word: bool = Field(default=True, description="keywords: whole words only")
    mask: bool | None = Field(default=None, description="mask matched values in alerts (default: "
                              "yes for regex/detector, no for keywords)")

    @field_validator("keywords")
    @classmethod
    def _no_empty(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for i, k in enumerate(v):
                if not isinstance(k, str) or not k.strip():
                    raise ValueError(f"keyword #{i + 1} is empty; remove it or write the word")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> Pattern:
        kinds = [k for k in ("keywords", "regex", "detector") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a pattern needs exactly one of 'keywords', 'regex' or 'detector'"
                             + (f" (found {', '.join(kinds)})" if kinds else ""))
        if self.validator and not self.regex:
            raise ValueError("'validator' applies to a 'regex' pattern only")
        return self


class Detection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patterns: dict[str, Pattern] = Field(min_length=1)
    condition: str = Field(default="any", description="e.g. 'any', 'lab near nir within 200 chars', "
                           "'nir >= 5'")
    exclude: dict[str, Pattern] = Field(default_factory=dict,
                                        description="the rule does not fire if any of these match")
    fields: list[Field_] = Field(default_factory=lambda: list(DEFAULT_FIELDS), min_length=1)


TestCase = str | dict[Field_, str]


class Tests(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: list[TestCase] = Field(default_factory=list)
    no_match: list[TestCase] = Field(default_factory=list)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=UUID_RE, description="UUID, never reused")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="stable slug, e.g. fr-nir")
    title: str = Field(min_length=1)
    description: str = ""
    author: str | list[str] = ""
    date: dt.date | None = None
    modified: dt.date | None = None
    status: Literal["experimental", "test", "stable", "deprecated"] = "experimental"
    level: Level
    tags: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    falsepositives: list[str] = Field(default_factory=list)
    enabled: bool = True
    supersedes: list[str] = Field(
        default_factory=list,
        description="names of rules this one outranks: when both fire on one post, only this "
                    "rule alerts and lists theirs as related (one incident, one alert)")
    escalates: bool = Field(
        default=False,
        description="with supersedes: when this rule fires in a thread whose incident already "
                    "has a rule it supersedes at the same level, the incident escalates (e.g. a "
                    "ransomware victim's countdown turning into 'published')")
    detection: Detection
    tests: Tests = Field(default_factory=Tests)


def json_schema() -> dict[str, Any]:
    """JSON Schema of a rule file: one rule per YAML document, or a list of rules."""
    rule = Rule.model_json_schema(mode="validation")
    defs = rule.pop("$defs", {})
    defs["Rule"] = rule
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://darkwatch.invalid/rules/schema.json",
        "title": "darkwatch rule file",
        "oneOf": [{"$ref": "#/$defs/Rule"}, {"type": "array", "items": {"$ref": "#/$defs/Rule"}}],
        "$defs": defs,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
