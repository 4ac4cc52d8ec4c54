"""Suite errors that point at the file, line and field at fault."""

from __future__ import annotations

from pydantic import ValidationError

from ..errors import UsageError


class SuiteError(UsageError):
    """A malformed suite file or item; the message names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        where = path if line is None else f"{path}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


def from_validation(path: str, line: int | None, exc: ValidationError, prefix: str = "") -> SuiteError:
    """Turn the first pydantic error into a SuiteError (all errors are listed in the message)."""
    errors = exc.errors()
    first = errors[0]
    field = prefix + ".".join(str(p) for p in first["loc"]) if first["loc"] else (prefix.rstrip(".") or None)
    rest = "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[1:])
    msg = first["msg"] + (f" (also: {rest})" if rest else "")
    return SuiteError(path, line, field or None, msg)
