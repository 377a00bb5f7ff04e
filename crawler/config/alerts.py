"""``alerts:`` section. Owned by the alerting layer (crawler/alerts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawler.vocabulary import Level


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[str] = []  # apprise URLs; checked by `darkwatch forums lint` (validate_channels)
    min_level: Level = "medium"
    throttle: str = "1h"  # one notification per (rule, thread) per window; "0" disables
    digest: bool = False  # one message per run instead of one per alert
    # What a notification is about: "incident" (one per leaking thread: on creation, escalation
    # and nir_distinct growth) or "alert" (one per rule firing on a post, throttled).
    notify: Literal["incident", "alert"] = "incident"
    incident_growth: float = Field(default=10.0, ge=1.1, le=1000)  # nir_distinct factor per notice
    # Link template; {id} = the incident id (notify: incident) or the alert id (notify: alert).
    kibana_url: str | None = None
    # Delivery bounds: per-attempt socket timeout, extra attempts per message, and how long the
    # end of a run may wait for queued notifications.
    timeout: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=10)
    close_timeout: float = Field(default=60.0, ge=0, le=3600)

    @field_validator("throttle", mode="before")
    @classmethod
    def _duration(cls, v: object) -> str:
        from crawler.config.duration import parse_duration

        parse_duration(v)  # type: ignore[arg-type]
        return str(v)

    @field_validator("kibana_url")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http(s) URL")
        if "{id}" not in v:
            raise ValueError("the Kibana link template needs an {id} placeholder for the incident "
                             "id (notify: incident, the default), e.g. https://kibana.example.org/"
                             "app/discover#/doc/darkwatch-incidents-dv/darkwatch-incidents?id={id}, "
                             "or the alert id (notify: alert): .../darkwatch-alerts-dv/"
                             "darkwatch-alerts?id={id}")
        return v
