"""Compute-in-memory against a GPU for one inference (white paper 4.2).

The white paper: matrix multiply-accumulate is 45-60% of a Transformer's operations and above
90% of a CNN's; CIM executes the weight-stationary matmuls inside the memory arrays and leaves
the rest (attention score products, softmax, norms, activations) to digital logic.

Model (one forward pass of ``tokens`` tokens of a dense transformer):

- ops: O_mm = 2 N_w T (weight matmuls), O_att = 4 L T (T/2) h (attention products, causal),
  O_el = L T (10 h + 3 f) (element-wise and norms); matmul share = O_mm / (O_mm + O_att + O_el).
- GPU: time from the serving operator model (prefill, TP 1); energy = card TDP x time (the
  card at its power limit: an upper bound).
- CIM: E = O_mm / EE_cim + (O_att + O_el) e_dig + W_stream e_dram; T = O_mm / R_cim +
  (O_att + O_el) / R_dig + W_stream / B_ext. e_dig is the GPU's energy per op at its attained
  rate (TDP / (P eta)); W_stream the weight bytes (8 bit) beyond the chips' arrays, read once per
  pass, at e_dram = 3.9 pJ/bit (HBM2, O'Connor et al., MICRO 2017) and B_ext = 400 GB/s (one
  HBM2e stack; assumption).
- chips to hold the model on-chip: ceil(N_w / capacity) at 1 B per weight.
- matmul_time_share: the weight GEMMs' share of the GPU's prefill time (the white paper's 45-60%
  for Transformers counts operations on its reference hardware; by FLOPs a Llama prefill is ~99%
  matmul, by time on a GPU less: attention and element-wise work are memory-bound).

References
----------
China Mobile NICC white paper 4.2; M. Le Gallo et al., Nature Electronics 2023; S. Ambrogio et
al., Nature 2023; S. Liu et al., ISSCC 2023 16.2; Y.-D. Chih et al., ISSCC 2021 16.4;
M. O'Connor et al., "Fine-Grained DRAM", MICRO 2017.
"""
from __future__ import annotations

import math

from .. import catalog
from ..units import magnitude
from .operators import arch_params, peak_rate
from .serving import geometry, step_time, weights_count

E_DRAM_PER_BIT = 3.9e-12
B_EXT = 400e9


def workload_ops(g: dict, tokens: int) -> dict:
    """Operations of one forward pass [OP]: matmul, attention, element-wise, matmul share."""
    T = float(tokens)
    mm = 2.0 * weights_count(g) * T
    att = 4.0 * g["layers"] * T * (T / 2.0) * g["hidden"]
    el = g["layers"] * T * (10.0 * g["hidden"] + 3.0 * g["ffn"])
    return {"matmul": mm, "attention": att, "elementwise": el, "matmul_share": mm / (mm + att + el)}


def cim_vs_gpu(accelerator, chip: str, model: str, tokens: int = 512, *, precision: str = "bf16") -> dict:
    """Energy [J] and time [s] of one inference pass on a GPU and on CIM chips (plain floats).

    Returns gpu_energy, gpu_time, cim_energy, cim_time, energy_ratio (GPU / CIM), chips (to hold
    the weights on-chip), matmul_share (by operations), matmul_time_share (by GPU time), and the op counts.
    """
    from ..errors import InputError

    acc = catalog.accelerator(accelerator) if isinstance(accelerator, str) else accelerator
    c = catalog.get("cim", chip, "compute.cim_chip")
    g = geometry(model)
    if int(tokens) < 1:
        raise InputError("compute.prompt_tokens", tokens, "a number of tokens >= 1")
    ops = workload_ops(g, int(tokens))
    t_gpu = step_time(acc, g, tokens, 1, tokens / 2.0, 1, precision, None, phase="prefill")
    parts = step_time(acc, g, tokens, 1, tokens / 2.0, 1, precision, None, phase="prefill", parts=True)
    tdp = magnitude(acc.tdp, "W", "tdp")
    e_gpu = tdp * t_gpu
    a = arch_params(acc)
    rate_dig = peak_rate(acc, "bf16") * a["gemm_efficiency"]
    e_dig = tdp / rate_dig
    ee = float(c.energy_efficiency.to("OP/s/W").magnitude)
    r_cim = float(c.peak.to("OP/s").magnitude)
    cap = float(c.weight_capacity.to("B").magnitude)
    w_bytes = weights_count(g) * 1.0
    chips = math.ceil(w_bytes / cap)
    stream = max(w_bytes - cap, 0.0)
    e_cim = ops["matmul"] / ee + (ops["attention"] + ops["elementwise"]) * e_dig + stream * 8 * E_DRAM_PER_BIT
    t_cim = ops["matmul"] / r_cim + (ops["attention"] + ops["elementwise"]) / rate_dig + stream / B_EXT
    return {"gpu_energy": e_gpu, "gpu_time": t_gpu, "cim_energy": e_cim, "cim_time": t_cim,
            "energy_ratio": e_gpu / e_cim, "chips": chips, "matmul_time_share": parts["gemm"] / sum(parts.values()),
            **ops}
