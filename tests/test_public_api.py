"""Every package's public names are exactly its ``__all__`` (httpx's exported-members test).

A public name is a module attribute not starting with ``_`` that is not itself a module (a
subpackage or submodule bound by an import) nor a ``__future__`` feature (a dunder such as
``__version__`` may be listed too). So an internal helper is
named with a leading ``_`` or listed, and a name another package imports is one the package means
to export: reaching into a package's private module is visible at review.
"""

from __future__ import annotations
import __future__

import importlib
import pkgutil
import types

import pytest

import lionrock


def _packages() -> list[str]:
    names = ["lionrock"]
    names += [info.name for info in pkgutil.walk_packages(lionrock.__path__, "lionrock.") if info.ispkg]
    return sorted(names)


def public_names(module: types.ModuleType) -> set[str]:
    """Attributes not starting with ``_``, excluding modules and ``from __future__`` features."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, (types.ModuleType, __future__._Feature))
    }


@pytest.mark.parametrize("name", _packages())
def test_package_public_names_are_exactly_its_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    public = public_names(module)
    unlisted = sorted(public - set(exported))
    missing = sorted(n for n in set(exported) - public if not (n.startswith("__") and hasattr(module, n)))
    assert not unlisted, f"{name}: public names not in __all__ (list them or start them with _): {unlisted}"
    assert not missing, f"{name}.__all__ names no public object: {missing}"


def test_public_names_skip_modules_and_future_features() -> None:
    fake = types.ModuleType("fake")
    fake.annotations = __future__.annotations  # type: ignore[attr-defined]
    fake.sub = types.ModuleType("fake.sub")  # type: ignore[attr-defined]
    fake.Thing = object  # type: ignore[attr-defined]
    fake._hidden = 1  # type: ignore[attr-defined]
    assert public_names(fake) == {"Thing"}
