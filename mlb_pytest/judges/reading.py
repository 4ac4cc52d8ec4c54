"""What the bundled judge's encoder reads of a response, and the version a calibrated band names.

Why one place: the band around the threshold is fitted on dev through exactly this reading, and a
judge that reads otherwise must warn (``calibration.stale_calibration``). The sanitiser runs before
(``builtin``); here the encoder keeps only the lines about the case (``relevance``) and sees the
response's quantities written as the criterion writes them (``unit_alignment``). The exact checks
read the sanitised response as written. An adapter's config can turn either step off
(``"related_lines": false``, ``"align_units": false``), for measuring what each one does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .relevance import RELEVANCE_VERSION, related_lines
from .sanitize import SANITIZE_VERSION
from .unit_alignment import UNITS_VERSION, align_units

READING_VERSION = f"{SANITIZE_VERSION}+{RELEVANCE_VERSION}+{UNITS_VERSION}"  # what a calibrated band was fitted through


def encoder_text(response: str, criterion: str, context: str, config: Mapping[str, Any]) -> str:
    """The (sanitised) response as the encoder reads it under this adapter's config."""
    if config.get("related_lines", True) is not False:
        response = related_lines(response, criterion, context)
    if config.get("align_units", True) is not False:
        response = align_units(response, criterion)
    return response
