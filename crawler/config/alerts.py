"""``alerts:`` section. Owned by the alerting layer (crawler/alerts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Level = Literal["informational", "low", "medium", "high", "critical"]


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[str] = []  # apprise URLs
    min_level: Level = "medium"
    throttle: str = "1h"  # one notification per (rule, thread) per window
    digest: bool = False  # one message per run instead of one per alert
    kibana_url: str | None = None  # template, e.g. "https://kibana/app/discover#/doc/...{id}"
