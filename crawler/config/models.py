"""The validated shape of darkwatch.yml."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from crawler.config.alerts import AlertsConfig
from crawler.config.rules import RulesConfig
from crawler.config.store import StoreConfig
from crawler.config.tor import TorConfig
from crawler.engines.selectors import Selectors

ENGINES = ("phpbb", "mybb", "smf", "xenforo", "discourse", "custom")
Engine = Literal["phpbb", "mybb", "smf", "xenforo", "discourse", "custom"]
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class FormLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str  # page holding the login form
    username: str
    password: str
    # Field names: configured, else the engine preset's, else read from the form (the password
    # input and the text input before it).
    username_field: str | None = None
    password_field: str | None = None
    form: str | None = None  # CSS selector of the form; else the preset's, else the password form


class ExpectConfig(BaseModel):
    """What a healthy crawl of this forum looks like; less is a ``failed`` forum, not ``ok``."""

    model_config = ConfigDict(extra="forbid")

    board_threads: int = Field(default=1, ge=0)  # thread rows at least, on each start URL's page
    thread_posts: int = Field(default=1, ge=0)  # posts at least, on each thread page
    # layout-changed: fewer board thread rows than this fraction of the last good crawl's.
    threads_drop: float = Field(default=0.5, ge=0, le=1)


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cookies_file: str | None = None  # Netscape cookies.txt or a JSON export
    login: FormLogin | None = None
    logged_out_text: list[str] = Field(
        default_factory=lambda: [
            # A fallback only: walls are recognised by behaviour first (redirect to the login
            # page, 401/403, a password form instead of content).
            "you must be logged in",
            "you are not logged in",
            "please log in",
            "please login",
            "login required",
            "log in to view",
            "vous devez être connecté",
            "vous devez vous connecter",
            "veuillez vous connecter",
            "debe iniciar sesión",
            "debes iniciar sesión",
            "sie müssen angemeldet sein",
            "bitte melden sie sich an",
            "devi effettuare il login",
            "você precisa estar logado",
            "войдите",
            "необходимо авторизоваться",
        ]
    )


class ForumConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    engine: Engine
    start_urls: list[str] = Field(min_length=1)
    selectors: Selectors = Field(default_factory=Selectors)
    max_pages: int = Field(default=500, ge=1)
    delay: float = Field(default=2.0, ge=0)
    concurrency: int = Field(default=1, ge=1, le=16)
    timeout: float = Field(default=120.0, gt=0)
    timezone: str = "UTC"  # zone of human-readable dates on this forum
    # Interface language of human dates ("ru", "de", ...); None: the page's <html lang>.
    language: str | None = None
    tls_verify: bool = True  # onion sites often use self-signed certs
    auth: AuthConfig = Field(default_factory=AuthConfig)
    expect: ExpectConfig = Field(default_factory=ExpectConfig)
    enabled: bool = True
    # Daemon schedule (`darkwatch run --daemon`): a duration, or a 5-field cron expression (UTC).
    # Neither set: every 1h. Also the interval of the monitoring-gap check.
    every: str | None = None
    cron: str | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, v: object) -> object:
        from crawler.config.schedule import check_every

        if v is not None:
            check_every(v)
            return str(v)
        return v

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None, info: ValidationInfo) -> str | None:
        from crawler.config.schedule import check_cron

        if v is None:
            return v
        if info.data.get("every") is not None:
            raise ValueError("'every' and 'cron' are mutually exclusive: keep one of them")
        return check_cron(v)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("must be a slug: lowercase letters, digits, '-' or '_' (e.g. 'bf-fr')")
        return v

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for u in v:
            parts = urlsplit(u)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{u!r} is not an absolute http(s) URL")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name like Europe/Paris)") from exc
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from crawler.engines.dates import normalise_language

        code = normalise_language(v)
        if code is None:
            raise ValueError(f"unknown language {v!r} (use a code like ru, uk, en, fr, de, es, it; "
                             "or leave it out to read the page's <html lang>)")
        return code

    @model_validator(mode="after")
    def _custom_needs_selectors(self) -> ForumConfig:
        if self.engine == "custom":
            from crawler.engines.selectors import REQUIRED_FOR_CRAWL

            missing = [k for k in REQUIRED_FOR_CRAWL if not getattr(self.selectors, k)]
            if missing:
                raise ValueError(
                    "engine 'custom' needs selectors: " + ", ".join(missing)
                    + " (see README, 'Writing a custom forum config')"
                )
        return self

    @model_validator(mode="after")
    def _default_schedule(self) -> ForumConfig:
        if self.every is None and self.cron is None:
            from crawler.config.schedule import DEFAULT_EVERY

            self.every = DEFAULT_EVERY
        return self

    @property
    def hosts(self) -> set[str]:
        return {urlsplit(u).hostname or "" for u in self.start_urls}


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: StoreConfig = Field(default_factory=StoreConfig)
    tor: TorConfig = Field(default_factory=TorConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    forums: list[ForumConfig] = Field(default_factory=list)

    # Set by the loader: where this config came from, to resolve relative paths.
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: set[str] = set()
        for f in self.forums:
            if f.name in seen:
                raise ValueError(f"forum name {f.name!r} is used twice; names must be unique")
            seen.add(f.name)
        return self

    def forum(self, name: str) -> ForumConfig:
        for f in self.forums:
            if f.name == name:
                return f
        known = ", ".join(f.name for f in self.forums) or "none"
        raise KeyError(f"no forum named {name!r} in the config (known: {known})")
