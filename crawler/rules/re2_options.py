"""The one set of RE2 options: the linter and the matcher must agree on what compiles.

(They used to differ in memory limit, so a regex could pass `rules lint` and fail in a crawl.)
"""

from __future__ import annotations

import re2

MAX_MEM = 64 << 20  # bytes per compiled program: room for big keyword alternations, still bounded


def re2_options() -> re2.Options:
    opts = re2.Options()
    opts.log_errors = False  # errors are reported as file:line:col problems, not on stderr
    opts.max_mem = MAX_MEM
    return opts


RE2_OPTIONS = re2_options()
