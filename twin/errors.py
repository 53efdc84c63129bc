"""Errors the twin raises for bad input.

Every error a user can provoke names the field (a dotted path such as
``fabric.spine.link_speed``), the value it got and what was expected, so the
command line and the dashboards can show one clear line instead of a traceback.
"""
from __future__ import annotations


class TwinError(Exception):
    """Base class of every error the twin raises on purpose."""


class InputError(TwinError, ValueError):
    """A value a user gave is wrong.

    Parameters
    ----------
    field : str
        Dotted path of the offending field, e.g. ``"compute.nodes"``.
    value : object
        The value received.
    expected : str
        What would have been accepted, with an example where it helps.
    problem : str, optional
        What is wrong with the value, e.g. ``"is a power"``.

    Examples
    --------
    >>> str(InputError("fabric.link_speed", "400 W", "a data rate such as '400 Gbit/s'", "is a power"))
    "fabric.link_speed: '400 W' is a power; expected a data rate such as '400 Gbit/s'"
    """

    def __init__(self, field: str, value, expected: str, problem: str | None = None):
        self.field = field
        self.value = value
        self.expected = expected
        self.problem = problem
        middle = f" {problem}" if problem else ""
        super().__init__(f"{field}: {value!r}{middle}; expected {expected}")


class ScenarioError(InputError):
    """A scenario file or dictionary is invalid (carries the field's dotted path)."""


class CatalogError(InputError):
    """A catalog name is unknown or a catalog entry is malformed."""


def closest(name: str, choices, n: int = 3) -> list[str]:
    """Closest known names to ``name`` (for did-you-mean messages)."""
    import difflib

    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    key = name.lower()
    # names that contain what was typed ('h100' -> 'H100-SXM5-80GB') first, then spelling neighbours
    hits = [c for c in lowered if key and key in c][:n]
    hits += [h for h in difflib.get_close_matches(key, list(lowered), n=n, cutoff=0.4) if h not in hits]
    return [lowered[h] for h in hits[:n]]


def unknown_name(field: str, name, choices, kind: str, error=InputError) -> InputError:
    """Build the error for an unknown name, listing the closest known ones."""
    choices = sorted(choices)
    near = closest(str(name), choices)
    hint = f"did you mean {', '.join(repr(c) for c in near)}?" if near else f"known: {', '.join(choices[:12])}{' ...' if len(choices) > 12 else ''}"
    return error(field, name, f"a known {kind}; {hint}", f"is not a known {kind}")
