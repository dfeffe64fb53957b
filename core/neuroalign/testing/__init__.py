"""Conformance kit for plugin authors, pytest fixtures and loopback test servers."""
