"""The plugin's exception hierarchy: one base, and two kinds a caller treats differently.

``UsageError``: the user's input is wrong (an option, a model spec, a suite line, a baseline or
gate file); the message names what to fix, and a run stops with exit status 4.
``InfrastructureError``: something the run depends on failed (the model or judge endpoint, the
cache); it becomes the affected item's ERROR and counts toward the infrastructure gate.
Every class keeps the built-in base it had (``ValueError`` and so on), so existing ``except``
clauses still catch it.
"""

from __future__ import annotations


class MLBError(Exception):
    """Any error raised on purpose by mlb-pytest."""


class UsageError(MLBError):
    """Input the user must fix; the message names the file, line or option."""


class InfrastructureError(MLBError):
    """A model, judge or cache failure: the item errors, the run goes on."""
