"""Deterministic generator of malformed scenario files, each invalid by construction.

``malformed(n, seed)`` yields ``(label, data: bytes, field)``: ``field`` is the dotted field the
one-line error must name (None for files that are not TOML at all: then the error names the
file and the line). Mutations start from a real preset and break one thing: a value out of its
range, of the wrong type or unit, an unknown choice or catalog name, an unknown key or
section, a bad ``extends``, or the TOML itself (truncated mid-line, unclosed string or table,
duplicate key, binary junk, invalid UTF-8).
"""
from __future__ import annotations

import math
import tomllib

import numpy as np
import tomli_w

from twin.paths import datasets_dir
from twin.scenario.schema import FIELDS

BASES = ("cluster-2023", "superpool-2025", "heterogeneous-2021")


def _base(name: str) -> dict:
    return tomllib.loads((datasets_dir() / "scenarios" / f"{name}.toml").read_text())


def _bad_values(f, rng) -> list:
    """Values that the field ``f`` must reject."""
    out = []
    if f.kind == "int":
        if f.lo is not None:
            out.append(int(f.lo) - 1 - int(rng.integers(0, 5)))
        if f.hi is not None:
            out.append(int(f.hi) + 1 + int(rng.integers(0, 1000)))
        out += [2.5, "seven", [1, 2], {"x": 1}]
    elif f.kind == "float":
        if f.lo is not None:
            out.append(float(f.lo) - 0.5 - float(rng.random()))
        if f.hi is not None:
            out += [float(f.hi) + 1.0 + float(rng.random()), math.inf]
        out += [math.nan, "abc", [0.5]]
    elif f.kind == "quantity":
        u = f.unit
        if f.lo is not None:
            out.append(f"{float(f.lo) - 1 - float(rng.random()):g} {u}")
        if f.hi is not None:
            out.append(f"{float(f.hi) * 2 + 1:g} {u}")
        wrong = "kg" if "g" not in u.split("/")[0] else "m"
        out += [f"12 {wrong}", "abc", "12 furlongz", "nan " + u, [1, 2]]
    elif f.kind == "choice":
        out += ["not-a-choice", 3, ["a"]]
    elif f.kind.startswith("catalog:"):
        out += ["no-such-part-xyz", 7]
    elif f.kind == "bool":
        out += ["maybe", 2, [True]]
    elif f.kind == "list:str":
        out += [[1, 2], {"a": 1}]
    elif f.kind == "str":
        out += [[1, 2], {"a": 1}, 3.5]
    return out


def _syntax(text: str, rng) -> tuple[str, bytes]:
    lines = text.splitlines()
    kv = [i for i, ln in enumerate(lines) if "=" in ln and not ln.lstrip().startswith("#")]
    i = int(rng.choice(kv))
    k = int(rng.integers(0, 7))
    if k == 0:  # truncated in the middle of a key = value line
        cut = lines[i].index("=") + 1
        return "truncated", ("\n".join(lines[:i] + [lines[i][:cut]]) + "\n").encode()
    if k == 1:  # unclosed string
        key = lines[i].split("=")[0].strip()
        lines[i] = f'{key} = "unterminated'
        return "unclosed-string", "\n".join(lines).encode()
    if k == 2:  # unclosed table header
        sec = [j for j, ln in enumerate(lines) if ln.startswith("[")]
        j = int(rng.choice(sec))
        lines[j] = lines[j].rstrip("]")
        return "unclosed-table", "\n".join(lines).encode()
    if k == 3:  # a key given twice
        return "duplicate-key", "\n".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]).encode()
    if k == 4:  # binary junk
        return "binary", bytes(rng.integers(0, 256, 200, dtype=np.uint8))
    if k == 5:  # invalid UTF-8 inside a string
        return "bad-utf8", text.encode().replace(b'"', b'"\xff\xfe', 1)
    return "bare-word", "\n".join(lines[:i] + ["this is not toml"] + lines[i:]).encode()


def malformed(n: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    fields = [f for f in FIELDS if f.section]
    for case in range(n):
        base_name = BASES[case % len(BASES)]
        doc = _base(base_name)
        kind = rng.random()
        if kind < 0.70:  # one field gets a bad value
            f = fields[int(rng.integers(0, len(fields)))]
            bad = _bad_values(f, rng)
            v = bad[int(rng.integers(0, len(bad)))]
            doc.setdefault(f.section, {})[f.name] = v
            yield f"{base_name}:{f.path}={v!r}", tomli_w.dumps(doc).encode(), f.path
        elif kind < 0.78:  # an unknown key in a known section
            f = fields[int(rng.integers(0, len(fields)))]
            key = f.name + "_x"
            doc.setdefault(f.section, {})[key] = 1
            yield f"{base_name}:unknown {f.section}.{key}", tomli_w.dumps(doc).encode(), f"{f.section}.{key}"
        elif kind < 0.83:  # an unknown section
            doc["computee"] = {"nodes": 4}
            yield f"{base_name}:unknown section", tomli_w.dumps(doc).encode(), "computee"
        elif kind < 0.86:  # a bad extends
            yield f"extends nothing", tomli_w.dumps({"extends": "no-such-preset-2030", "name": "x"}).encode(), "extends"
        else:  # not valid TOML
            label, data = _syntax((datasets_dir() / "scenarios" / f"{base_name}.toml").read_text(), rng)
            yield f"{base_name}:{label}", data, None
