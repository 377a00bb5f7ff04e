"""Engine presets: selector sets stored as data (``presets/<engine>.yml``), not code.

A preset is what a config author would otherwise write under ``selectors:``; a forum's
own ``selectors:`` override single fields on top of it. ``engine: custom`` has no preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from crawler.engines.selectors import Selectors
from crawler.yamlpos import YamlError, load_documents, read_text

PRESET_DIR = Path(__file__).with_name("presets")
ENGINES = ("phpbb", "mybb", "smf", "xenforo", "discourse")


class PresetError(ValueError):
    """A preset file is missing or malformed (a packaging bug, not a user error)."""


@dataclass(frozen=True, slots=True)
class LoginDefaults:
    username_field: str = "username"
    password_field: str = "password"  # noqa: S105 (a form field name, not a secret)
    form: str | None = None  # CSS selector of the login <form>


@dataclass(frozen=True, slots=True)
class Preset:
    engine: str
    selectors: Selectors
    login: LoginDefaults


@cache
def load_preset(engine: str) -> Preset:
    if engine not in ENGINES:
        known = ", ".join(ENGINES)
        raise PresetError(f"no preset for engine {engine!r} (known: {known}; or use engine: custom)")
    path = PRESET_DIR / f"{engine}.yml"
    try:  # the same bounded, position-keeping loader as configs and rules
        docs = load_documents(read_text(path))
    except YamlError as exc:
        raise PresetError(f"{path}:{exc.line}:{exc.column}: {exc.describe()}") from None
    except OSError as exc:
        raise PresetError(f"cannot read preset {path}: {exc.strerror or exc}") from None
    data = docs[0].data if len(docs) == 1 else {} if not docs else None
    if data is None:
        raise PresetError(f"{path}: one YAML document expected")
    if not isinstance(data, dict) or not isinstance(data.get("selectors"), dict):
        raise PresetError(f"{path}: expected a mapping with a 'selectors' mapping")
    try:
        selectors = Selectors(**data["selectors"])
        login = LoginDefaults(**(data.get("login") or {}))
    except (TypeError, ValueError) as exc:
        raise PresetError(f"{path}: {exc}") from exc
    return Preset(engine=engine, selectors=selectors, login=login)


class ForumLike(Protocol):
    """What a forum's config says about its selectors (``crawler.config.models.ForumConfig``):
    typed by shape, so the engines package does not import the config package."""

    engine: str
    selectors: Selectors


def resolve_selectors(forum_config: ForumLike) -> Selectors:
    """The selectors a forum is crawled with: its engine preset + its own overrides."""
    if forum_config.engine == "custom":
        return forum_config.selectors
    return load_preset(forum_config.engine).selectors.merged(forum_config.selectors)
