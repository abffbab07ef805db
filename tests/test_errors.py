"""One exception hierarchy, in one module: every public exception class of purdah is
defined in purdah/errors.py (other modules may re-export one under its old name)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import purdah
from purdah import errors


def test_every_public_exception_class_lives_in_purdah_errors():
    misplaced = []
    for module_info in pkgutil.walk_packages(purdah.__path__, "purdah."):
        if ".migrations" in module_info.name or module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
                and module is not errors
            ):
                misplaced.append(f"{module.__name__}.{name}")
    assert misplaced == []
    assert issubclass(errors.FeedRejected, errors.PurdahError)
