"""The private Tor lab (session fixture ``tor_lab``) for the security tests comes from
tests/conftest.py (built by tests/support/tor_lab.py): one lab for the whole session."""
