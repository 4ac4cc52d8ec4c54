"""Moved to ``judges/panel.py``; the old name stays importable for scripts and tests that use it."""

from .judges.panel import *  # noqa: F403
