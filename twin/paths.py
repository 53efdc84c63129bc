"""Where the bundled data lives, in a source checkout and in an installed wheel."""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def datasets_dir() -> Path:
    """The datasets/ folder: $NICC_TWIN_DATASETS, the source checkout, or the wheel's share/ copy."""
    env = os.environ.get("NICC_TWIN_DATASETS")
    candidates = [Path(env)] if env else []
    candidates += [
        _HERE.parent / "datasets",
        Path(sys.prefix) / "share" / "nicc-twin" / "datasets",
        Path(sys.base_prefix) / "share" / "nicc-twin" / "datasets",
    ]
    for c in candidates:
        if (c / "catalog").is_dir():
            return c
    raise FileNotFoundError(
        "NICC Twin datasets not found; looked in " + ", ".join(str(c) for c in candidates)
        + ". Set NICC_TWIN_DATASETS to the datasets/ folder of a checkout."
    )


def notebooks_dir() -> Path:
    """The notebooks/ folder (source checkout first, then the wheel's share/ copy)."""
    for c in (_HERE.parent / "notebooks", Path(sys.prefix) / "share" / "nicc-twin" / "notebooks"):
        if (c / "app.ipynb").is_file():
            return c
    raise FileNotFoundError("NICC Twin notebooks not found (expected notebooks/app.ipynb)")



def load_toml(path: Path) -> dict:
    """Read a TOML file (tomllib on 3.11+, tomli before)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


@lru_cache(maxsize=1)
def _headlines_table() -> dict:
    """datasets/tables/headlines.toml, read once per process (every domain reads its rows at import)."""
    return load_toml(datasets_dir() / "tables" / "headlines.toml")


def read_headlines(domain: str, path=None) -> tuple:
    """A domain's headline figures from ``datasets/tables/headlines.toml`` (or ``path``): its
    ``[[<domain>]]`` tables, in order, as ``(variable, label, unit)`` rows.

    Raises
    ------
    InputError
        No ``[[<domain>]]`` table, or a ``variable``, ``label`` or ``unit`` missing or not a
        string (naming ``headlines.<domain>[i].<key>``).
    """
    from .errors import InputError

    table = _headlines_table() if path is None else load_toml(path)
    path = datasets_dir() / "tables" / "headlines.toml" if path is None else path
    rows = table.get(domain)
    if not isinstance(rows, list) or not rows:
        raise InputError(f"headlines.{domain}", rows, f"[[{domain}]] tables of variable, label and unit", f"are missing in {path}")
    rows = [r if isinstance(r, dict) else {} for r in rows]
    bad = [(i, k) for i, r in enumerate(rows) for k in ("variable", "label", "unit") if not isinstance(r.get(k), str)]
    if bad:
        i, k = bad[0]
        raise InputError(f"headlines.{domain}[{i}].{k}", rows[i].get(k), "a string", f"is missing or not a string in {path}")
    return tuple((r["variable"], r["label"], r["unit"]) for r in rows)
