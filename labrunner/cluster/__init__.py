"""Reaching clusters. Only this package may import the ``kubernetes`` client."""
