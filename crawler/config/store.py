"""``store:`` section. SQLite is always there (crawl state); Elasticsearch is optional."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ElasticsearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9200"
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    verify_tls: bool = True
    index_prefix: str = Field(default="darkwatch", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    spool_dir: str = "./.darkwatch/spool"
    # Raw (unmasked) post text goes to a separate, hidden ``<prefix>-raw-*`` index only when true.
    store_raw: bool = False
    # Documents buffered (write-ahead spooled) before a bulk request; and the longest they wait.
    batch_size: int = Field(default=500, ge=1, le=10_000)
    flush_interval: float = Field(default=5.0, ge=0)
    request_timeout: float = Field(default=30.0, gt=0)
    # Per-document retries (429) inside one bulk, with exponential backoff from 1 s.
    max_retries: int = Field(default=3, ge=0, le=10)
    # After Elasticsearch was unreachable, wait this long before trying again within a run.
    retry_interval: float = Field(default=30.0, ge=0)
    # A single document above this size is dead-lettered (Elasticsearch would reject the batch).
    max_doc_bytes: int = Field(default=5_000_000, ge=10_000)
    # ILM: posts indices (and raw) are deleted this many days after creation; null keeps them.
    retention_days: int | None = Field(default=365, ge=1)
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=1, ge=0)


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sqlite: str = "./darkwatch.db"
    elasticsearch: ElasticsearchConfig | None = None
    # A crawl refuses to start (exit 2) with less free space than this where the store writes.
    min_free_mb: int = Field(default=50, ge=0)
    # PRAGMA quick_check before each crawl: a corrupt store would answer "nothing new".
    integrity_check: bool = True
