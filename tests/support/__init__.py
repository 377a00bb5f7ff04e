"""Test support: helpers, builders, loopback servers and corpora shared by the test modules,
their conftest.py files (which hold only fixtures) and the benches.

Test modules import from here, never from another test module or a conftest.py.
"""
