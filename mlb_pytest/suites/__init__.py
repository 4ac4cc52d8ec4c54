"""Suite formats: the project's own JSONL format and MLB's release format, read as-is."""

from .errors import SuiteError
from .loader import LoadResult, is_suite_file, load_suite_file, select_limited, suite_fingerprint

__all__ = ["LoadResult", "SuiteError", "is_suite_file", "load_suite_file", "select_limited", "suite_fingerprint"]
