"""Discovery of the domain packages' registrations (validation quantities, benchmarks).

Each white-paper domain package ``twin.<domain>`` may hold a module ``_register`` that
registers its validation quantities (:func:`twin.validation.register_quantity`) and its
benchmarks (:func:`twin.bench.register_benchmark`). The core imports them on demand, so a
domain lands without editing any shared file.
"""
from __future__ import annotations

import importlib

#: Domain packages, bottom layer first: a domain reads only the results of domains before it
#: (its NEEDS). The same order is the import-linter layers contract in pyproject.toml.
DOMAINS = ("fabric", "interconnect", "compute", "training", "platform", "storage", "energy", "cost")

#: Modules that register validation quantities and benchmarks: the core's (whole-twin runs),
#: the catalog's and every domain's ``_register``.
REGISTERING = ("twin._register", "twin.catalog._register") + tuple(f"twin.{d}._register" for d in DOMAINS)

_loaded = False


def load_registrations() -> None:
    """Import every module of :data:`REGISTERING` (once); a missing one is an error."""
    global _loaded
    if _loaded:
        return
    for name in REGISTERING:
        importlib.import_module(name)
    _loaded = True
