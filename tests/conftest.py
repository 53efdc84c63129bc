"""Shared test plumbing: every hypothesis property test must reach its assertions.

Each example a ``@given`` test runs is counted, and so is each example that reached an
assertion: a passing ``assert`` statement (pytest's ``pytest_assertion_pass`` hook, enabled in
pyproject.toml), a ``pytest.raises`` block that saw its exception, or a ``numpy.testing``
assertion. A property test whose examples reach their assertions in fewer than
``MIN_REACH`` of the cases fails, naming the figure: an example that returns early (say,
because the generated input was invalid) checks nothing. The figure of every property test
goes to the test's ``user_properties`` (``hypothesis_reach``) and to ``REACH`` below.
"""
from __future__ import annotations

import ast
import functools
import inspect
import textwrap

import numpy.testing as npt
import pytest

MIN_REACH = 0.8
#: test node id -> (examples, examples that reached an assertion), filled as tests run
REACH: dict[str, tuple[int, int]] = {}
_hit = [False]
#: test node id -> {assert line: examples that passed it} (diagnostic: which checks the examples reach)
LINES: dict[str, dict[int, int]] = {}
#: test node id -> (examples, line numbers of the assert statements in the test's own body)
ASSERTS: dict[str, tuple[int, list[int]]] = {}


def _assert_lines(fn) -> list[int]:
    try:
        src, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(src)))
    except (OSError, TypeError, SyntaxError):
        return []
    return sorted(first + n.lineno - 1 for n in ast.walk(tree) if isinstance(n, ast.Assert))
_lines: set = set()


def mark_reached() -> None:
    """Record that the running example reached its assertions (for checks made without
    ``assert``, ``pytest.raises`` or ``numpy.testing``)."""
    _hit[0] = True


def pytest_assertion_pass(item, lineno, orig, expl):
    _hit[0] = True
    _lines.add(lineno)


# --- pytest.raises and numpy.testing count as assertions ------------------------------------
_orig_raises = pytest.raises


class _Raises:
    def __init__(self, cm):
        self._cm = cm

    def __enter__(self):
        return self._cm.__enter__()

    def __exit__(self, *exc):
        out = self._cm.__exit__(*exc)  # raises when the expected exception did not come
        _hit[0] = True
        return out

    def __getattr__(self, name):
        return getattr(self._cm, name)


@functools.wraps(_orig_raises)
def _raises(expected_exception, *args, **kwargs):
    if args:  # pytest.raises(Exc, func, *args): calls at once
        out = _orig_raises(expected_exception, *args, **kwargs)
        _hit[0] = True
        return out
    return _Raises(_orig_raises(expected_exception, **kwargs))


pytest.raises = _raises


def _counting(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        out = fn(*a, **k)
        _hit[0] = True
        return out

    return wrapper


for _name in ("assert_allclose", "assert_array_equal", "assert_equal", "assert_array_less", "assert_almost_equal",
              "assert_array_almost_equal", "assert_array_max_ulp"):
    if hasattr(npt, _name) and not hasattr(getattr(npt, _name), "__wrapped__"):
        setattr(npt, _name, _counting(getattr(npt, _name)))


# --- count the examples of every hypothesis test ------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    fn = getattr(item, "obj", None)
    handle = getattr(fn, "hypothesis", None)
    if handle is None or not getattr(fn, "is_hypothesis_test", False):
        return (yield)
    inner = handle.inner_test
    counts = [0, 0]
    per_line = LINES.setdefault(item.nodeid, {})

    @functools.wraps(inner)
    def counted(*a, **k):
        _hit[0] = False
        _lines.clear()
        counts[0] += 1
        try:
            return inner(*a, **k)
        finally:
            if _hit[0]:
                counts[1] += 1
            for ln in _lines:
                per_line[ln] = per_line.get(ln, 0) + 1

    handle.inner_test = counted
    try:
        res = yield
    finally:
        handle.inner_test = inner
    n, reached = counts
    REACH[item.nodeid] = (n, reached)
    ASSERTS[item.nodeid] = (n, _assert_lines(inner))
    item.user_properties.append(("hypothesis_reach", f"{reached}/{n}"))
    if n and reached < MIN_REACH * n:
        pytest.fail(f"only {reached} of {n} hypothesis examples ({100 * reached / n:.0f}%) reached an assertion "
                    f"(at least {100 * MIN_REACH:.0f}% must): generate valid inputs by construction rather than "
                    f"returning early or assume()-ing them away", pytrace=False)
    return res


def pytest_terminal_summary(terminalreporter):
    # diagnostic: assert statements of a property test that most examples never get to
    for nodeid, (n, lines) in ASSERTS.items():
        seen = LINES.get(nodeid, {})
        rare = [f"line {ln}: {seen.get(ln, 0)}/{n}" for ln in lines if n and seen.get(ln, 0) < MIN_REACH * n]
        if rare:
            terminalreporter.write_line(f"hypothesis reach, rarely reached asserts in {nodeid}: {', '.join(rare)}")
    if REACH:
        low = min(REACH.items(), key=lambda kv: kv[1][1] / max(kv[1][0], 1))
        n = sum(v[0] for v in REACH.values())
        r = sum(v[1] for v in REACH.values())
        terminalreporter.write_line(f"hypothesis reach: {len(REACH)} property tests, {r}/{n} examples reached their "
                                    f"assertions; lowest {low[1][1]}/{low[1][0]} in {low[0]}")
