"""mlb-pytest: regression-test medical LLMs with pytest, following the MLB benchmark."""

__version__ = "0.1.0"
