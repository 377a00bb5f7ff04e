"""``store:`` section. SQLite is always there (crawl state); Elasticsearch is optional."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ElasticsearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:9200"
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    verify_tls: bool = True
    index_prefix: str = "darkwatch"
    spool_dir: str = "./.darkwatch/spool"
    store_raw: bool = False


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sqlite: str = "./darkwatch.db"
    elasticsearch: ElasticsearchConfig | None = None
