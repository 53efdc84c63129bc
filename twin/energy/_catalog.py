"""Catalog access for the energy domain (thin wrappers over twin.catalog)."""
from __future__ import annotations

from .. import catalog


def get(kind: str, name: str, field: str | None = None):
    return catalog.get(kind, name, field)


def accelerator(name: str):
    return catalog.accelerator(name)
