"""The model zoo: transformer and CNN shapes read from ``datasets/models/*.toml``.

Each TOML table is one model (its key is the name used in ``scenario.workload.model``).
:func:`get_model` returns a frozen :class:`ModelSpec`; an unknown name raises
:class:`twin.errors.InputError` listing the closest names.
"""
from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass, field, replace

from ..errors import InputError, unknown_name
from ..paths import datasets_dir, load_toml

#: Python types of the schema's ``type`` names.
_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "dict": dict}


def read_model_fields(path=None) -> dict:
    """The fields of :class:`ModelSpec` from ``datasets/tables/model_fields.toml`` (or ``path``).

    Returns
    -------
    dict
        ``{name: {"type", "default" (absent for a required field), "unit", "description",
        "compare"}}`` in field order.

    Raises
    ------
    InputError
        A field whose ``type`` is not one of int, float, str, bool, dict, whose ``default`` is
        not of that type, or without a ``description`` (naming ``model_fields.<name>.<key>``).
    """
    path = datasets_dir() / "tables" / "model_fields.toml" if path is None else path
    out = {}
    for name, f in load_toml(path).items():
        f = f if isinstance(f, dict) else {}
        where = f"model_fields.{name}"
        if f.get("type") not in _TYPES:
            raise InputError(f"{where}.type", f.get("type"), f"one of {', '.join(_TYPES)}", f"is not a field type in {path}")
        t = _TYPES[f["type"]]
        if "default" in f and (not isinstance(f["default"], t) or isinstance(f["default"], bool) is not (t is bool)):
            raise InputError(f"{where}.default", f["default"], f"a value of type {f['type']}", f"is not of the field's type in {path}")
        if not isinstance(f.get("description"), str):
            raise InputError(f"{where}.description", f.get("description"), "a string", f"is missing in {path}")
        out[name] = {"unit": "", "compare": True, **f}
    return out


#: The fields of a model (datasets/tables/model_fields.toml): type, default, unit, description.
MODEL_FIELDS = read_model_fields()
_INT_FIELDS = tuple(k for k, f in MODEL_FIELDS.items() if f["type"] == "int")


def _schema_dataclass(cls):
    """``cls`` as a frozen dataclass with the fields of :data:`MODEL_FIELDS` (annotations, defaults
    and the Attributes section of its docstring from the schema)."""
    cls.__annotations__ = {k: f["type"] for k, f in MODEL_FIELDS.items()}
    lines = []
    for k, f in MODEL_FIELDS.items():
        if f["type"] == "dict":
            setattr(cls, k, field(default_factory=dict, compare=f["compare"], hash=f["compare"]))
        elif "default" in f:
            setattr(cls, k, field(default=f["default"], compare=f["compare"]))
        unit = f" [{f['unit']}]" if f["unit"] else ""
        lines += [f"{k} : {f['type']}"] + textwrap.wrap(f["description"] + unit, 92, initial_indent="    ", subsequent_indent="    ")
    cls.__doc__ = (cls.__doc__ or "") + "\n\nAttributes\n----------\n" + "\n".join(lines)
    return dataclass(frozen=True)(cls)


@_schema_dataclass
class ModelSpec:
    """Shape of one model: the fields of datasets/tables/model_fields.toml (:data:`MODEL_FIELDS`)."""

    @property
    def is_moe(self) -> bool:
        return self.experts > 1

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads if self.heads else 0

    def with_sequence_length(self, s: int) -> "ModelSpec":
        return replace(self, sequence_length=int(s))


def _spec(name: str, d: dict, path) -> ModelSpec:
    if "source" not in d or not str(d["source"]).strip():
        raise InputError(f"models.{name}.source", None, "a citation of the model's shape", "is missing")
    kw = {k: v for k, v in d.items() if k in ModelSpec.__dataclass_fields__ and k != "name"}
    for k in _INT_FIELDS:
        if k in kw:
            kw[k] = int(kw[k])
    if "dropout" in kw and not isinstance(kw["dropout"], bool):
        v = kw["dropout"]
        if not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise InputError(f"models.{name}.dropout", v, "true / false, or a dropout probability in [0, 1)",
                             f"is not a dropout setting in {path}")
        kw["dropout"] = v > 0  # a probability: masks are stored whenever it is above 0
    kind = kw.get("kind", "transformer")
    if kind == "transformer":
        for k in ("layers", "hidden", "heads", "vocab"):
            if int(kw.get(k, 0)) <= 0:
                raise InputError(f"models.{name}.{k}", kw.get(k), "a positive integer", f"is missing or not positive in {path}")
        kw.setdefault("kv_heads", kw["heads"])
        kw.setdefault("ffn_hidden", 4 * kw["hidden"])
    return ModelSpec(name=name, **kw)


@functools.lru_cache(maxsize=1)
def _zoo() -> dict[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for path in sorted((datasets_dir() / "models").glob("*.toml")):
        for name, d in load_toml(path).items():
            if not isinstance(d, dict):
                continue
            out[name] = _spec(name, d, path.name)
    return out


def model_names() -> list[str]:
    """Names of every model in the zoo."""
    return sorted(_zoo())


def get_model(name, field: str = "workload.model") -> ModelSpec:
    """The :class:`ModelSpec` called ``name`` (a ModelSpec passes through; a dict of dimensions
    becomes an inline model, :func:`model_from_dims`).

    Raises
    ------
    InputError
        Unknown name (the message lists the closest known names).
    """
    if isinstance(name, ModelSpec):
        return name
    if isinstance(name, dict):
        return model_from_dims(name)
    zoo = _zoo()
    key = str(name).strip()
    if key in zoo:
        return zoo[key]
    low = {k.lower(): k for k in zoo}
    if key.lower() in low:
        return zoo[low[key.lower()]]
    raise unknown_name(field, name, zoo, "model")


__all__ = ["ModelSpec", "get_model", "model_names", "model_from_dims"]


def model_from_dims(dims: dict, name: str = "inline") -> ModelSpec:
    """A :class:`ModelSpec` from inline dimensions (the keys of a zoo TOML table: layers, hidden,
    heads, vocab, and optionally kv_heads, ffn_hidden, sequence_length, mlp, norm, bias, position,
    tied_embeddings, experts, top_k, dropout); ``source`` defaults to "inline dimensions".

    Raises
    ------
    InputError
        Unknown keys, or layers / hidden / heads / vocab missing or not positive.
    """
    if not isinstance(dims, dict):
        raise InputError("model", dims, "a zoo name or a table of dimensions (layers, hidden, heads, vocab, ...)")
    allowed = set(ModelSpec.__dataclass_fields__) - {"name", "published"}
    for k in dims:
        if k not in allowed:
            raise unknown_name(f"model.{k}", k, sorted(allowed), "model dimension")
    d = dict(dims)
    d.setdefault("source", "inline dimensions")
    return _spec(str(d.pop("name", name)), d, "inline model")
