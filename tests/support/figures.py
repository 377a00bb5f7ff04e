"""Measured figures (latency, RSS, rates) printed in the test run's output, passed or not."""

from __future__ import annotations


def figure(request, text: str) -> None:
    """Print a measured figure (latency, RSS, rate) in the test run's output, passed or not.

    pytest captures the output of passing tests; this writes with the capture suspended, so
    CI logs carry the figures the acceptance asks to be printed.
    """
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        print(text, flush=True)
