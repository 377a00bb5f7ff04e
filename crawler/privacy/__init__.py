"""One home for what darkwatch hides before text leaves the machine (stdlib only).

- :mod:`.identifiers`: personal identifiers (NIR, phone, card, account numbers) scrubbed from
  free text, matched values masked for alerts, snippets and masked copies of posts; one set of
  shapes and thresholds for alerts, logs, exports and rule masking.
- :mod:`.secrets`: credentials (URL userinfo, ``password=``/``token=`` values, auth headers,
  alert channel URLs) redacted from errors, reports and logs.
- :mod:`.logs`: the log-record factory and helpers that apply both to every log record.
"""

from crawler.privacy.identifiers import (
    MIN_DIGIT_RUN,
    clean,
    mask_generic,
    mask_identifiers,
    mask_spans,
    scrub,
    scrub_keeping,
    snippet,
)
from crawler.privacy.logs import (
    RedactFilter,
    install_redaction,
    redact_record,
    scrub_text,
    scrub_value,
)
from crawler.privacy.secrets import (
    MASK,
    SecretFilter,
    hide,
    install_secret_filter,
    is_secret_key,
    redact,
    redact_obj,
    redact_url,
    scrub_url,
    secret_parts,
    uninstall_secret_filter,
)

__all__ = [
    "MASK", "MIN_DIGIT_RUN", "RedactFilter", "SecretFilter", "clean", "hide", "install_redaction",
    "install_secret_filter", "is_secret_key", "mask_generic", "mask_identifiers", "mask_spans",
    "redact", "redact_obj", "redact_record", "redact_url", "scrub", "scrub_keeping", "scrub_text",
    "scrub_url", "scrub_value", "secret_parts", "snippet", "uninstall_secret_filter",
]
