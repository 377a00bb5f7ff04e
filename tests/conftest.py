"""Session-wide fixtures: one private Tor network for every suite that needs it."""

from tests.tor.lab_fixture import tor_lab  # noqa: F401 (registered once here: one lab per session)
