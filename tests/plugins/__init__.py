"""Plugins used by the core test suite (imported as ``plugins.<module>`` from ``tests/``)."""
