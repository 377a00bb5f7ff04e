"""``rules:`` section. Owned by the rules layer (crawler/rules)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

KEY_FILE_NAME = "fingerprint.key"  # written by `darkwatch init` beside the store


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[str] = ["rules/"]
    fingerprint_key: str | None = None  # HMAC key; from ${DARKWATCH_FINGERPRINT_KEY} in practice
    # Where `darkwatch init` keeps a generated key (mode 0600); used when neither the key nor
    # the variable is set. Default: fingerprint.key beside the SQLite store.
    fingerprint_key_file: str | None = None
    reveal: bool = False  # keep clear matched values (never the default)
    enabled: bool = True
    max_samples: int = Field(default=10, ge=0, le=1000)  # masked samples kept per alert
