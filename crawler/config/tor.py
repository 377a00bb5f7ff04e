"""``tor:`` section. Owned by the Tor layer (crawler/tor)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["system", "launch"] = "system"
    socks: str = "127.0.0.1:9050"  # host:port of Tor's SocksPort
    control: str | None = "127.0.0.1:9051"  # host:port of Tor's ControlPort (system mode)
    password: str | None = None  # control password; cookie auth when absent
    bootstrap_timeout: float = Field(default=120.0, gt=0)
    tor_binary: str = "tor"
    # launch mode: extra torrc options for the private tor (e.g. Bridge lines, or the
    # lab's DirAuthority/TestingTorNetwork lines); a list value repeats the option.
    torrc: dict[str, str | list[str]] = Field(default_factory=dict)
