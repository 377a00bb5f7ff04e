"""The private Tor lab (session fixture ``tor_lab``) for the security tests comes from
tests/conftest.py (defined in tests/tor/lab_fixture.py): one lab for the whole session."""
