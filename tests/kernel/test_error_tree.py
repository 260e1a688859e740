"""Every exception class Lion Rock defines derives from `LionRockError` (the tree drawn in
`lionrock.kernel.errors`), and keeps the builtin its callers catch."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import lionrock
from lionrock.kernel.errors import InvariantError, LionRockError, Reject, ServiceError, StorageError
from lionrock.kernel.user_errors import UserError


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(lionrock.__path__, "lionrock."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("lionrock."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_every_exception_class_derives_from_lionrock_error() -> None:
    classes = _exception_classes()
    assert len(classes) >= 20
    strays = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, LionRockError))
    assert not strays, f"exception classes outside the LionRockError tree: {strays}"


def test_each_error_keeps_the_builtin_its_callers_catch() -> None:
    from lionrock.engine.journal import JournalNotFound
    from lionrock.readmodel.tenancy import NotVisible
    from lionrock.service.writer import RunnerStopped
    from lionrock.storage.migrations import SchemaTooNew

    assert issubclass(InvariantError, AssertionError)
    assert issubclass(NotVisible, LookupError) and issubclass(NotVisible, ServiceError)
    assert issubclass(RunnerStopped, RuntimeError) and issubclass(RunnerStopped, ServiceError)
    assert issubclass(SchemaTooNew, RuntimeError) and issubclass(SchemaTooNew, StorageError)
    assert issubclass(JournalNotFound, FileNotFoundError) and issubclass(JournalNotFound, UserError)
    for branch in (Reject, InvariantError, UserError, StorageError, ServiceError):
        assert issubclass(branch, LionRockError)


def test_the_tree_in_the_docstring_names_every_class() -> None:
    import lionrock.kernel.errors as errors

    doc = errors.__doc__ or ""
    missing = sorted(c.__name__ for c in _exception_classes() if not c.__name__.startswith("_") and c.__name__ not in doc)
    assert not missing, f"classes missing from the tree in lionrock.kernel.errors: {missing}"
