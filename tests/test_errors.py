"""Every error the package raises on purpose has one base, and says whether the user must act."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import mlb_pytest
from mlb_pytest.errors import InfrastructureError, MLBError, UsageError

# raised and caught inside one module to steer control flow; never reach a caller
_INTERNAL = {"_Reject", "WrongAnswer", "ItemError"}


def _package_errors() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(mlb_pytest.__path__, "mlb_pytest."):
        if info.name.endswith(("plugin", "pytest_items")):
            continue  # import pytest hooks only through pytest
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue  # an optional extra that is not installed
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Warning):
                continue  # issued through warnings.warn, never raised at a caller
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__ and cls.__name__ not in _INTERNAL:
                found.append(cls)
    return found


def test_every_package_error_derives_from_the_one_base() -> None:
    errors = _package_errors()
    assert len(errors) >= 12
    stray = [f"{c.__module__}.{c.__name__}" for c in errors if not issubclass(c, MLBError)]
    assert not stray, f"errors outside the hierarchy: {stray}"


def test_each_error_says_whether_the_user_or_the_infrastructure_must_act() -> None:
    for cls in _package_errors():
        if cls in (MLBError, UsageError, InfrastructureError):
            continue
        assert issubclass(cls, UsageError) != issubclass(cls, InfrastructureError), cls


def test_old_except_clauses_still_catch_them() -> None:
    from mlb_pytest.config import ConfigError
    from mlb_pytest.gates import GateError
    from mlb_pytest.models.spec import SpecError

    for cls in (ConfigError, GateError, SpecError):
        assert issubclass(cls, ValueError)
