"""Discovery of the domain packages' registrations (validation quantities, benchmarks).

Each white-paper domain package ``twin.<domain>`` may hold a module ``_register`` that
registers its validation quantities (:func:`twin.validation.register_quantity`) and its
benchmarks (:func:`twin.bench.register_benchmark`). The core imports them on demand, so a
domain lands without editing any shared file.
"""
from __future__ import annotations

import importlib
import importlib.util

#: Domain packages in white-paper order (ch. 3 interconnect and fabric, 4 compute, 5 storage,
#: 6 platform and training, 7 energy), after the catalog-level checks of the core.
DOMAINS = ("catalog", "interconnect", "fabric", "compute", "training", "storage", "platform", "energy")

_loaded = False


def load_registrations() -> None:
    """Import ``twin.<domain>._register`` for every domain that has one (once)."""
    global _loaded
    if _loaded:
        return
    for d in DOMAINS:
        name = f"twin.{d}._register"
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(name)
    _loaded = True
