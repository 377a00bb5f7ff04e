"""darkwatch: dark-web forum monitoring crawler."""

__version__ = "0.1.0"
