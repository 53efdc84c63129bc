"""A parallel plan: reading it from keyword arguments and the scenario, checking it."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InputError, unknown_name
from . import _kernels as K
from .formulas import ATTENTION, RECOMPUTE
from .models import ModelSpec, get_model

PLAN_KEYS = ("tp", "pp", "dp", "ep", "micro_batch", "global_batch", "sequence_length", "virtual_stages",
             "recompute", "sequence_parallel", "zero_stage", "attention", "dp_overlap", "uneven_pipeline",
             "cp", "offload", "offload_tier")


@dataclass(frozen=True)
class Plan:
    tp: int
    pp: int
    dp: int
    ep: int
    micro_batch: int
    global_batch: int
    sequence_length: int
    virtual_stages: int
    recompute: str
    sequence_parallel: bool
    zero_stage: int
    attention: str
    dp_overlap: bool
    uneven_pipeline: bool = False
    cp: int = 1
    offload: str = "none"
    offload_tier: str = "host-ddr"

    @property
    def cards(self) -> int:
        return self.tp * self.cp * self.pp * self.dp

    def as_dict(self) -> dict:
        return asdict(self)


def _int(v, field, lo=1):
    if isinstance(v, bool) or not isinstance(v, (int,)) and not (isinstance(v, float) and float(v).is_integer()):
        raise InputError(field, v, f"an integer >= {lo}", f"is a {type(v).__name__}")
    v = int(v)
    if v < lo:
        raise InputError(field, v, f"an integer >= {lo}", "is out of range")
    return v


def check_clock_factor(clock_factor) -> float:
    """The peak-rate multiplier as a float in (0, 2], else InputError naming ``clock_factor``."""
    ok = isinstance(clock_factor, (int, float)) and not isinstance(clock_factor, bool)
    if not ok or not (0 < clock_factor <= 2):
        raise InputError("clock_factor", clock_factor, "a plain number in (0, 2] (1 = the accelerator's datasheet peak)",
                         "is out of range" if ok else f"is a {type(clock_factor).__name__}")
    return float(clock_factor)


def check_attention(att, field: str = "workload.attention") -> str:
    if att not in ATTENTION:
        raise InputError(field, att, "'flash' or 'unfused'", "is not an attention kernel")
    return att


def check_bool(v, field: str) -> bool:
    if not isinstance(v, (bool, int)) or isinstance(v, int) and not isinstance(v, bool) and v not in (0, 1):
        raise InputError(field, v, "true or false", f"is a {type(v).__name__}")
    return bool(v)


def resolve(sc, model=None, **plan) -> tuple[ModelSpec, Plan]:
    """Model and plan from keyword arguments, defaulting to ``sc.workload``; checks types and the split.

    Raises
    ------
    InputError
        Unknown keys or model names, a split that does not divide the card count, a batch that
        is not a multiple of dp x micro_batch, more cards than the cluster has.
    """
    for k in plan:
        if k not in PLAN_KEYS:
            from ..errors import unknown_name

            raise unknown_name(f"workload.{k}", k, PLAN_KEYS, "plan field")
    w = sc.workload
    get = lambda k: plan[k] if plan.get(k) is not None else getattr(w, k)  # noqa: E731
    # fields added after the first presets: the schema default where a scenario predates them
    get_opt = lambda k, d: plan[k] if plan.get(k) is not None else getattr(w, k, d)  # noqa: E731
    m = get_model(model if model is not None else w.model, "workload.model" if model is None else "model")
    own = model is not None and m.name != str(w.model)
    if plan.get("sequence_length") is None and own:
        seq = m.sequence_length  # another model than the scenario's: its own context length, not the workload's
    else:
        seq = _int(get("sequence_length"), "workload.sequence_length")
    if m.kind == "transformer" and seq != m.sequence_length:
        m = m.with_sequence_length(seq)
    tp = _int(get("tp"), "workload.tp")
    pp = _int(get("pp"), "workload.pp")
    ep = _int(get("ep"), "workload.ep")
    mb = _int(get("micro_batch"), "workload.micro_batch")
    gb = _int(get("global_batch"), "workload.global_batch")
    v = _int(get("virtual_stages"), "workload.virtual_stages")
    z = _int(get("zero_stage"), "workload.zero_stage", lo=0)
    if z > 3:
        raise InputError("workload.zero_stage", z, "0, 1, 2 or 3", "is out of range")
    rc = get("recompute")
    if rc not in RECOMPUTE:
        raise InputError("workload.recompute", rc, "'none', 'selective' or 'full'", "is not a recomputation mode")
    att = check_attention(get("attention"))
    sp = check_bool(get("sequence_parallel"), "workload.sequence_parallel") and tp > 1
    ov = check_bool(get("dp_overlap"), "workload.dp_overlap")
    # not (yet) a scenario field: a plan keyword, default False (Megatron's even split)
    un = plan.get("uneven_pipeline")
    un = check_bool(un if un is not None else getattr(w, "uneven_pipeline", False), "workload.uneven_pipeline")
    from .offload import check_offload, check_tier

    cp = _int(get_opt("cp", 1), "workload.cp")
    off = check_offload(get_opt("offload", "none"))
    tier = check_tier(get_opt("offload_tier", "host-ddr"))
    n = sc.cards
    if m.kind == "cnn":
        tp = pp = v = 1
        sp = False
        if cp > 1:
            raise InputError("workload.cp", cp, "1 for a CNN", "context parallelism splits a token sequence")
    if m.kind == "transformer" and seq % (2 * cp):
        raise InputError("workload.cp", cp, f"a degree with 2 x cp dividing the sequence length {seq}",
                         "ring attention with load balancing splits the sequence into 2 x cp chunks")
    if n % (tp * pp * cp):
        field = "workload.pp" if pp > 1 and n % tp == 0 else "workload.tp"
        if cp > 1 and n % (tp * pp) == 0:
            field = "workload.cp"
        val = {"workload.tp": tp, "workload.pp": pp, "workload.cp": cp}[field]
        raise InputError(field, val, f"tp x cp x pp dividing the card count {n}",
                         f"gives tp x cp x pp = {tp * cp * pp}, which does not divide the cluster")
    dp_raw = get("dp")
    dp = _int(dp_raw, "workload.dp", lo=0)
    if dp == 0:
        dp = n // (tp * pp * cp)
    if tp * pp * cp * dp > n:
        raise InputError("workload.dp", dp, f"tp x cp x pp x dp <= {n} cards (tp x cp x pp = {tp * cp * pp})",
                         "needs more cards than the cluster has")
    if gb < dp * mb:
        raise InputError("workload.global_batch", gb, f"at least dp x micro_batch = {dp} x {mb} = {dp * mb}", "is smaller than dp x micro_batch")
    if gb % (dp * mb):
        raise InputError("workload.global_batch", gb, f"a multiple of dp x micro_batch = {dp * mb}", "is not a multiple of dp x micro_batch")
    return m, Plan(tp, pp, dp, ep, mb, gb, seq, v, rc, sp, z, att, ov, un, cp, off, tier)


def read_reasons(path=None) -> dict:
    """The field and words of each rejection code of the kernels, from
    ``datasets/tables/rejections.toml`` (or ``path``): one table per code, named as in
    ``twin.training._kernels`` (``[R_TP_HEADS]``), with ``field`` and ``reason``.

    Returns
    -------
    dict
        ``{code: (field, reason)}`` for codes 1 to ``N_CODES - 1``, in code order.

    Raises
    ------
    InputError
        A table that names no rejection code, a ``field`` or ``reason`` missing or not a
        string (naming ``rejections.<CODE>.<key>``), or a code without a table.
    """
    from ..paths import datasets_dir, load_toml

    path = datasets_dir() / "tables" / "rejections.toml" if path is None else path
    codes = {name: getattr(K, name) for name in dir(K) if name.startswith("R_")}
    out = {}
    for name, row in load_toml(path).items():
        if name not in codes:
            raise unknown_name(f"rejections.{name}", name, codes, "rejection code of twin.training._kernels")
        row = row if isinstance(row, dict) else {}
        for key in ("field", "reason"):
            if not isinstance(row.get(key), str):
                raise InputError(f"rejections.{name}.{key}", row.get(key), "a string", f"is missing or not a string in {path}")
        out[codes[name]] = (row["field"], row["reason"])
    missing = [name for name, code in codes.items() if code not in out]
    if missing:
        raise InputError(f"rejections.{missing[0]}", None, "a table with the code's field and reason", f"is missing in {path}")
    return dict(sorted(out.items()))


#: field and words for each rejection code of the kernels (datasets/tables/rejections.toml)
REASONS = read_reasons()
