"""darkwatch.yml: loading (line-aware, ${ENV} expansion) and validation."""

from crawler.config.loader import ConfigError, load_config
from crawler.config.models import Config, ForumConfig

__all__ = ["Config", "ConfigError", "ForumConfig", "load_config"]
