"""Discovery of the domain packages' registrations (validation quantities, benchmarks).

Each white-paper domain package ``twin.<domain>`` may hold a module ``_register`` that
registers its validation quantities (:func:`twin.validation.register_quantity`) and its
benchmarks (:func:`twin.bench.register_benchmark`). The core imports them on demand, so a
domain lands without editing any shared file.
"""
from __future__ import annotations

import importlib
import importlib.util

#: Domain packages, bottom layer first: a domain reads only the results of domains before it
#: (its NEEDS). The same order is the import-linter layers contract in pyproject.toml.
DOMAINS = ("fabric", "interconnect", "compute", "training", "platform", "storage", "energy", "cost")

#: Packages whose _register module holds validation quantities and benchmarks.
REGISTERING = ("catalog",) + DOMAINS

_loaded = False


def load_registrations() -> None:
    """Import ``twin.<domain>._register`` for every domain that has one (once)."""
    global _loaded
    if _loaded:
        return
    for d in REGISTERING:
        name = f"twin.{d}._register"
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(name)
    _loaded = True
