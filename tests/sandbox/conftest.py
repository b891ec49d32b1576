"""The sandbox package's tests use the suite's shared sandbox (tests/conftest.py); the
helpers for starting clusters of their own are in tests/sandboxes.py."""
