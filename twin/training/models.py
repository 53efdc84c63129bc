"""The model zoo: transformer and CNN shapes read from ``datasets/models/*.toml``.

Each TOML table is one model (its key is the name used in ``scenario.workload.model``).
:func:`get_model` returns a frozen :class:`ModelSpec`; an unknown name raises
:class:`twin.errors.InputError` listing the closest names.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from ..errors import InputError, unknown_name
from ..paths import datasets_dir, load_toml

_INT_FIELDS = ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "sequence_length", "experts", "top_k")


@dataclass(frozen=True)
class ModelSpec:
    """Shape of one model.

    Attributes
    ----------
    name : str
    kind : str              "transformer" or "cnn"
    layers, hidden, heads, kv_heads, ffn_hidden, vocab, sequence_length : int
    mlp : str               "gelu" (2 matrices) or "swiglu" (3 matrices)
    norm : str              "layernorm" (weight + bias) or "rmsnorm" (weight)
    bias : bool             linear layers carry biases
    position : str          "learned" (an s x h table) or "rope" (no parameters)
    tied_embeddings : bool  output projection shares the input embedding
    experts, top_k : int    mixture of experts (1, 1 for a dense model)
    dropout : bool          trains with attention and residual dropout (GPT); its masks are stored
                            activations. Llama-family models train without dropout.
    params_published : float  parameter count the source states [1]
    forward_flops, activation_bytes : float  per sample, CNN only [FLOP], [B]
    source : str
    published : dict        the published training run, where the source gives one
    """

    name: str
    kind: str = "transformer"
    family: str = ""
    layers: int = 0
    hidden: int = 0
    heads: int = 0
    kv_heads: int = 0
    ffn_hidden: int = 0
    vocab: int = 0
    sequence_length: int = 2048
    mlp: str = "gelu"
    norm: str = "layernorm"
    bias: bool = True
    position: str = "learned"
    tied_embeddings: bool = True
    experts: int = 1
    top_k: int = 1
    dropout: bool = True
    params_published: float = 0.0
    active_params_published: float = 0.0
    forward_flops: float = 0.0
    activation_bytes: float = 0.0
    source: str = ""
    published: dict = field(default_factory=dict, compare=False, hash=False)

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
