"""Cross-domain training across data centres and cross-region placement (white paper 6.4, 1.2).

A job spans several sites (``platform.sites``) joined by WAN links (``platform.wan_links``,
``platform.wan_technology``, ``platform.wan_bandwidth``, ``platform.wan_sharing``). The
training domain's results (step time, its compute and data-parallel components, parameters)
are read from the state tree; this module adds what crossing the WAN costs under four
strategies and four compressions, the straggler effect of unequal sites, the WAN bandwidth a
target compute utilisation needs, and a placement of the whole job on one site by queue (each
site's load as an M/M/c queue: ``platform.site_load``, ``platform.site_capacity``), data
location, run time at the site's speed and (when datasets/catalog/regions.toml is present)
electricity price and carbon.

Public functions: :func:`evaluate_crossdomain`, :func:`crossdomain`, :func:`step_times`,
:func:`required_bandwidth`, :func:`fibre_latency`, :func:`great_circle`, :func:`site_table`,
:func:`wan_links`, :func:`compression_model`, :func:`pipeline_blocking_step_time`, :func:`communication_reduction`,
:func:`placement`, :func:`site_queues`, :data:`CONVERGENCE`.

Convergence: what H inner steps and compression cost in model quality is *not* modelled; the
published evidence is carried in :data:`CONVERGENCE` and in the results' attrs, labelled with
its source and the range it was tested on.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .. import catalog
from ..errors import CatalogError, InputError, TwinError, unknown_name
from ..scenario import load_scenario
from ..units import Q_, as_quantity, format_unit
from . import _xd_kernels as K
from .native import mmc_wait, peak_bf16

NEEDS = ("training",)

STRATEGIES = ("sync-dp", "hierarchical", "pipeline", "diloco")
COMPRESSIONS = ("none", "int8", "topk", "powersgd")

#: One-way propagation in silica fibre [s/km]: group index 1.468 / c = 4.897 us/km
#: (published.md, platform section; ITU-T G.652 fibre).
FIBRE_DELAY_PER_KM = 1.468 / 299_792.458
#: Mean Earth radius [km] (IUGG).
EARTH_RADIUS_KM = 6371.0088
#: Bytes of one gradient value on the wire without compression: bf16 (Megatron-LM gradients
#: and the training domain's memory model keep 2 bytes per gradient).
GRADIENT_BYTES = 2.0
#: Share of a step's compute that can hide a gradient all-reduce: the backward pass, twice the
#: forward (Narayanan et al. SC'21: backward = 2 x forward), i.e. 2/3 of the compute.
BACKWARD_SHARE = 2.0 / 3.0
#: int8 quantisation sends 1 byte per bf16 value (INTELLECT-1's int8 all-reduce; per-tensor
#: scales are negligible); bytes ratio 0.5.
INT8_RATIO = 0.5
#: Top-k sends a 4-byte index with each 2-byte value (DGC's sparse encoding, Lin et al. 2018):
#: density = ratio x 2 / (2 + 4).
TOPK_INDEX_BYTES = 4.0
#: HBM passes over the local gradient (bytes moved per gradient byte) of each compression's
#: encode + decode: int8 (abs-max, quantise, dequantise-accumulate) 4; top-k with error
#: feedback (DGC Alg. 1: accumulate residual, sampled threshold, select, update residual,
#: scatter-add) 8. Counted from the algorithms' steps.
HBM_PASSES = {"none": 0.0, "int8": 4.0, "topk": 8.0, "powersgd": 4.0}
#: PowerSGD GEMMs (Vogels et al. 2019, Alg. 1: P = M Q, Q = M^T P, orthogonalisation) are
#: tall-skinny: the model assumes 30% of the BF16 peak for them (an assumption in the range of
#: the training domain's efficiency model at narrow GEMM dimensions).
POWERSGD_GEMM_EFFICIENCY = 0.3

#: Published evidence of convergence cost; the twin does not invent a number where none is
#: published. Each: claim, tested range, source.
CONVERGENCE = {
    "sync-dp": ("reference: every step synchronous, the optimizer as on one cluster", "", "by construction"),
    "hierarchical": ("mathematically the same all-reduce as sync-dp, no convergence cost", "", "by construction"),
    "pipeline": ("same updates as on one cluster (pipeline parallelism changes where layers run, not the maths)", "",
                 "by construction (Huang et al., GPipe 2019; Narayanan et al. 2021)"),
    "diloco": ("8 workers x H = 500 inner steps matched fully synchronous data parallel perplexity on C4 "
               "with 500x less communication; INTELLECT-1 (10B, H = 100) trained to comparable quality",
               "H <= 500 with 8 workers (DiLoCo); H = 100, up to 14 nodes (INTELLECT-1)",
               "Douillard et al., DiLoCo, arXiv:2311.08105 (2023); Jaghouar et al., INTELLECT-1, arXiv:2412.01152 (2024)"),
    "none": ("no compression", "", ""),
    "int8": ("int8 pseudo-gradient all-reduce with comparable performance at 10B (INTELLECT-1); FP16 all-reduce "
             "without degradation (OpenDiLoCo)", "DiLoCo pseudo-gradients", 
             "Jaghouar et al. arXiv:2412.01152 (2024); Jaghouar et al. arXiv:2407.07852 (2024)"),
    "topk": ("99.9% sparsity (0.1% density) with momentum correction and error feedback: no loss of accuracy on "
             "ResNet-50/ImageNet and LSTM language models", "density >= 0.001, CNNs and LSTMs",
             "Lin et al., Deep Gradient Compression, ICLR 2018"),
    "powersgd": ("rank-2 PowerSGD with error feedback reached the test accuracy of full SGD on ResNet-18/CIFAR-10 and "
                 "an LSTM on WikiText-2", "rank 1-4, CNN and LSTM",
                 "Vogels et al., PowerSGD, NeurIPS 2019"),
}


# ---------------------------------------------------------------------------------------------
# Sites and links


def _site_entry(name: str, field: str):
    if name not in catalog.names("sites"):
        raise unknown_name(field, name, site_names(), "site")
    e = catalog.get("sites", name, field)
    if e.get("type") != "site":
        raise InputError(field, name, f"a site of datasets/catalog/sites.toml ({', '.join(site_names())})",
                         f"is a {e.get('type')} entry, not a site")
    return e


def site_names() -> list[str]:
    """Names of the sites in datasets/catalog/sites.toml."""
    return [n for n in catalog.names("sites") if catalog.get("sites", n).get("type") == "site"]


def wan_technologies() -> list[str]:
    """Names of the WAN link technologies in datasets/catalog/sites.toml."""
    return [n for n in catalog.names("sites") if catalog.get("sites", n).get("type") == "wan"]


def wan_technology(name: str, field: str = "platform.wan_technology"):
    """A WAN technology entry (route_factor, equipment_latency, efficiency, wavelength_rate, ...)."""
    techs = wan_technologies()
    if name not in techs:
        raise unknown_name(field, name, techs, "WAN technology")
    return catalog.get("sites", name)


def great_circle(a: str, b: str):
    """Great-circle distance between two catalog sites [km] (haversine on the mean Earth radius).

    Notes
    -----
    d = 2 R asin( sqrt( sin^2(dphi/2) + cos phi1 cos phi2 sin^2(dlambda/2) ) ), R = 6371 km.
    """
    ea, eb = _site_entry(a, "site"), _site_entry(b, "site")
    p1, p2 = math.radians(float(ea["latitude"])), math.radians(float(eb["latitude"]))
    dl = math.radians(float(eb["longitude"]) - float(ea["longitude"]))
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return Q_(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h)), "km")


def fibre_latency(distance, *, field: str = "distance"):
    """One-way propagation delay over a fibre route [s].

    Parameters
    ----------
    distance : Quantity or str
        Fibre route length [km] (>= 0).

    Notes
    -----
    t = n_g d / c with group index n_g = 1.468: 4.9 us per km.

    References
    ----------
    published.md (platform): about 4.9 us per km one way.
    """
    d = as_quantity(distance, "km", field)
    if not np.isfinite(d.magnitude) or d.magnitude < 0:
        raise InputError(field, f"{d.magnitude:g} km", "a route length >= 0 km", "is negative")
    return Q_(d.magnitude * FIBRE_DELAY_PER_KM, "s")


def _parse_sites(sc):
    p = sc.platform
    raw = list(p.sites)
    if not raw:
        raise InputError("platform.sites", raw, "at least one site of datasets/catalog/sites.toml", "is empty")
    names, counts = [], []
    for item in raw:
        name, _, cnt = str(item).partition(":")
        name = name.strip()
        _site_entry(name, "platform.sites")
        if name in names:
            raise InputError("platform.sites", item, "each site once", "repeats a site")
        names.append(name)
        if cnt.strip():
            try:
                c = int(cnt)
            except ValueError:
                raise InputError("platform.sites", item, "\"site\" or \"site:cards\" with an integer card count") from None
            counts.append(c)
        else:
            counts.append(None)
    total = sc.cards
    if all(c is None for c in counts):
        base, extra = divmod(total, len(names))
        cards = [base + (1 if i < extra else 0) for i in range(len(names))]
    elif any(c is None for c in counts):
        raise InputError("platform.sites", raw, "card counts on every site or on none", "mixes both")
    else:
        cards = counts
        if sum(cards) != total:
            raise InputError("platform.sites", raw, f"card counts that sum to the cluster's {total} cards",
                             f"sum to {sum(cards)}")
    for n, c in zip(names, cards):
        if c <= 0:
            raise InputError("platform.sites", f"{n}:{c}", "a site with compute (cards > 0)", "has no compute")
    accs = list(p.site_accelerators)
    if len(accs) > len(names):
        raise InputError("platform.site_accelerators", accs, f"at most one accelerator per site ({len(names)})",
                         f"has {len(accs)}")
    accs += [sc.compute.accelerator] * (len(names) - len(accs))  # the rest: compute.accelerator
    for a in accs:
        catalog.accelerator(a, "platform.site_accelerators")
    return names, cards, accs


def _parse_links(sc, names, tech):
    raw = list(sc.platform.wan_links)
    links = []
    if not raw:
        if len(names) == 2:
            pairs = [(0, 1)]
        else:
            pairs = [(i, (i + 1) % len(names)) for i in range(len(names))] if len(names) > 2 else []
        for i, j in pairs:
            links.append((i, j, great_circle(names[i], names[j]).magnitude * float(tech["route_factor"])))
        return links
    for item in raw:
        spec, _, dist = str(item).partition("@")
        a, sep, b = spec.partition("-")
        a, b = a.strip(), b.strip()
        if not sep or not a or not b:
            raise InputError("platform.wan_links", item, "\"siteA-siteB\" or \"siteA-siteB@1200 km\"")
        for s in (a, b):
            if s not in site_names():
                raise InputError("platform.wan_links", item, f"a link between sites of datasets/catalog/sites.toml "
                                 f"(the job spans {', '.join(names)})", f"names the unknown site {s!r}")
        if a == b:
            raise InputError("platform.wan_links", item, "a link between two different sites", "joins a site to itself")
        if dist.strip():
            d = as_quantity(dist.strip(), "km", "platform.wan_links").magnitude
            if not np.isfinite(d) or d < 0:
                raise InputError("platform.wan_links", item, "a distance >= 0 km", "has a negative distance")
        else:
            d = great_circle(a, b).magnitude * float(tech["route_factor"])
        if a in names and b in names:  # the WAN may hold links between sites this job does not span
            links.append((names.index(a), names.index(b), d))
    linked = {i for l in links for i in l[:2]}
    for i, n in enumerate(names):
        if len(names) > 1 and i not in linked:
            raise InputError("platform.wan_links", raw, f"links that reach every site (add one for {n!r})",
                             f"leave {n!r} unconnected")
    return links


def wan_links(scenario) -> xr.Dataset:
    """The scenario's WAN links: distance [km], one-way latency [ms] and effective bandwidth.

    Notes
    -----
    ``platform.wan_links`` describes the WAN: links whose sites are in the catalog but not in
    ``platform.sites`` are not used by this job; every site of the job must be reached.
    latency = 4.9 us/km x route length + equipment latency of the technology;
    effective bandwidth = provisioned x sharing x technology efficiency (goodput). Without
    explicit ``platform.wan_links`` the sites form a ring in the listed order and each route is
    the great circle times the technology's route factor.
    """
    sc = load_scenario(scenario)
    names, _, _ = _parse_sites(sc)
    return _links_dataset(sc, names)


def _links_dataset(sc, names):
    p = sc.platform
    tech = wan_technology(p.wan_technology)
    bw = p.wan_bandwidth.to("Gbit/s").magnitude
    cap = (tech["wavelength_rate"] * tech["max_wavelengths"]).to("Gbit/s").magnitude
    if bw > cap * (1 + 1e-9):
        raise InputError("platform.wan_bandwidth", f"{bw:g} Gbit/s",
                         f"at most {cap:g} Gbit/s on {p.wan_technology} ({tech['max_wavelengths']} x "
                         f"{tech['wavelength_rate'].to('Gbit/s').magnitude:g} Gbit/s)", "exceeds the technology")
    links = _parse_links(sc, names, tech)
    eq = tech["equipment_latency"].to("s").magnitude
    dist = np.array([l[2] for l in links], dtype=float)
    lat = dist * FIBRE_DELAY_PER_KM + eq
    eff = bw * float(p.wan_sharing) * float(tech["efficiency"])
    labels = [f"{names[l[0]]}-{names[l[1]]}" for l in links]
    return xr.Dataset(
        {"distance": ("link", dist, {"units": "km", "long_name": "fibre route length"}),
         "latency": ("link", lat * 1e3, {"units": "ms", "long_name": "one-way latency (fibre 4.9 us/km + equipment)"}),
         "effective_bandwidth": ((), eff, {"units": format_unit("Gbit/s"),
                                           "long_name": "provisioned x sharing x technology efficiency"})},
        coords={"link": labels}, attrs={"technology": p.wan_technology})


def site_table(scenario) -> xr.Dataset:
    """Sites of a scenario: cards, accelerator, relative speed, region, coordinates."""
    sc = load_scenario(scenario)
    names, cards, accs = _parse_sites(sc)
    speed = _site_speeds(sc, accs)
    return xr.Dataset(
        {"cards": ("site", np.array(cards, dtype=float), {"units": ""}),
         "relative_speed": ("site", speed, {"units": "", "long_name": "BF16 peak over compute.accelerator's"})},
        coords={"site": names, "accelerator": ("site", accs),
                "region": ("site", [str(_site_entry(n, "platform.sites")["region"]) for n in names])})


def _site_speeds(sc, accs):
    """Per-site speed relative to compute.accelerator: ratio of BF16 (else FP16) catalog peaks.

    Until the compute domain publishes per-accelerator efficiency, the catalog peak stands for
    what a family delivers on the training domain's operators (documented limitation).
    """
    ref = peak_bf16(sc.compute.accelerator, "compute.accelerator")
    return np.array([peak_bf16(a, "platform.site_accelerators") / ref for a in accs], dtype=float)


# ---------------------------------------------------------------------------------------------
# Compression


def topk_bytes_ratio(density: float, value_bytes: float = GRADIENT_BYTES, index_bytes: float = TOPK_INDEX_BYTES) -> float:
    """Bytes sent by top-k sparsification over bytes of the dense gradient [1].

    Notes
    -----
    r = d (b_v + b_i) / b_v for density d (kept share of values), b_v bytes per value and b_i
    bytes per index (Lin et al., DGC, ICLR 2018: values with their indices).
    """
    d = float(density)
    if not (0 < d <= 1):
        raise InputError("density", density, "a kept share in (0, 1]")
    return d * (float(value_bytes) + float(index_bytes)) / float(value_bytes)


def ring_allreduce_time(message, ranks: int, bandwidth, *, latency="0 s", flows_per_link: int = 1) -> "Q_":
    """Time of a ring all-reduce of ``message`` over ``ranks`` joined by links of ``bandwidth`` [s].

    Parameters
    ----------
    message : Quantity [B]    bytes each rank contributes
    ranks : int               ring members (>= 1)
    bandwidth : Quantity [Gbit/s]   per link and direction, effective
    latency : Quantity [s]    one-way per ring step
    flows_per_link : int      rings (processes) sharing one link's bandwidth

    Notes
    -----
    t = 2 (n - 1)/n x S x f / B + 2 (n - 1) L (Thakur et al. 2005; nccl-tests PERFORMANCE.md).
    """
    n = int(ranks)
    if n < 1:
        raise InputError("ranks", ranks, "an integer >= 1")
    S = as_quantity(message, "byte", "message").to("byte").magnitude
    B = as_quantity(bandwidth, "Gbit/s", "bandwidth").to("byte/s").magnitude
    L = as_quantity(latency, "s", "latency").magnitude
    if B <= 0:
        raise InputError("bandwidth", bandwidth, "a bandwidth > 0")
    if n == 1:
        return Q_(0.0, "s")
    return Q_(2.0 * (n - 1) / n * S * int(flows_per_link) / B + 2.0 * (n - 1) * L, "s")


def pipeline_blocking_step_time(stage_compute, micro_batches: int, message, link_bandwidths, link_latencies, *,
                                data_parallel="0 s") -> "Q_":
    """Step time of a 1F1B pipeline whose stage-to-stage sends block the stage [s].

    Parameters
    ----------
    stage_compute : Quantity [s]     forward + backward of one micro-batch on one stage
    micro_batches : int              micro-batches per step and pipeline (m >= 1)
    message : Quantity [B]           activation (and its gradient) crossing one stage boundary per micro-batch
    link_bandwidths : sequence of Quantity [Gbit/s]   the p - 1 links between consecutive stages
    link_latencies : sequence of Quantity [s]         their one-way latencies
    data_parallel : Quantity [s]     gradient all-reduce after the pipeline flush (not overlapped)

    Notes
    -----
    One transfer over link j takes tau_j = X / B_j + L_j. In Megatron-LM's 1F1B schedule each
    stage k, per micro-batch, computes and then waits for a combined send/receive with each
    neighbour (``send_forward_recv_backward`` over link k, ``send_backward_recv_forward`` over
    link k - 1; full duplex), so its period is P_k = c + tau_{k-1} + tau_k and
    T = (m - 1) max_k P_k + p c + 2 sum_j tau_j + t_dp (fill and drain pass every link once
    each way). The LM head of the last stage is not modelled apart: every stage computes
    ``stage_compute``. One implementation: the numba kernel ``_xd_kernels.pipeline_blocking``,
    which :func:`step_times`' ``pipeline`` strategy (what the Cross-domain tab shows) runs too.

    References
    ----------
    Narayanan et al., SC'21 (1F1B); Megatron-LM ``schedules.forward_backward_pipelining_without_interleaving``
    and ``p2p_communication`` (blocking batched isend/irecv).
    """
    m = int(micro_batches)
    if m < 1:
        raise InputError("micro_batches", micro_batches, "an integer >= 1")
    c = as_quantity(stage_compute, "s", "stage_compute").magnitude
    x = as_quantity(message, "byte", "message").to("byte").magnitude
    bws = [as_quantity(b, "Gbit/s", "link_bandwidths").to("byte/s").magnitude for b in link_bandwidths]
    lats = [as_quantity(v, "s", "link_latencies").to("s").magnitude for v in link_latencies]
    if len(bws) != len(lats):
        raise InputError("link_latencies", list(link_latencies), f"one latency per link ({len(bws)})",
                         f"has {len(lats)}")
    if any(not (b > 0) for b in bws):
        raise InputError("link_bandwidths", list(link_bandwidths), "bandwidths > 0")
    if any(v < 0 for v in lats) or c < 0 or x < 0:
        raise InputError("link_latencies", list(link_latencies), "latencies, compute and message >= 0")
    t_dp = as_quantity(data_parallel, "s", "data_parallel").magnitude
    return Q_(float(K.pipeline_blocking(c, float(m), x, np.array(bws, dtype=float), np.array(lats, dtype=float), t_dp)),
              "s")


def compression_model(method: str, ratio: float, local_parameters: float, hbm_bandwidth, peak_rate,
                      matrix_shape=(12288, 49152)):
    """Bytes ratio and compute cost of one compression of the local gradient.

    Parameters
    ----------
    method : {"none", "int8", "topk", "powersgd"}
    ratio : float
        Bytes sent over bytes of the bf16 gradient for top-k and PowerSGD, in (0, 1].
    local_parameters : float
        Parameters one card holds (P / (tp pp)) [1].
    hbm_bandwidth : Quantity [GB/s];  peak_rate : Quantity [TFLOP/s]
    matrix_shape : (m, n)
        Typical weight matrix (h x 4h) that sets PowerSGD's rank.

    Returns
    -------
    dict with ``ratio`` (bytes ratio) [1], ``cost`` [s] per compression, ``density`` (top-k) and
    ``rank`` (PowerSGD).

    Notes
    -----
    int8: ratio 0.5; cost 4 HBM passes over 2 P_local bytes. top-k: density = ratio x 2/(2+4)
    (value + 4-byte index); cost 8 passes. PowerSGD: rank r = ratio m n / (m + n) (at least 1);
    cost = 4 passes + 4 r P_local FLOP (two rank-r GEMMs, forward and back) at 30% of peak.

    References
    ----------
    Lin et al., ICLR 2018 (DGC); Vogels et al., NeurIPS 2019 (PowerSGD); Jaghouar et al. 2024 (INTELLECT-1).
    """
    if method not in COMPRESSIONS:
        raise unknown_name("platform.compression", method, COMPRESSIONS, "compression")
    ratio = float(ratio)
    if not (0 < ratio <= 1) or not math.isfinite(ratio):
        raise InputError("platform.compression_ratio", ratio, "a bytes ratio in (0, 1]",
                         "is above 1 (compression cannot send more)" if ratio > 1 else "is not in (0, 1]")
    bw = as_quantity(hbm_bandwidth, "GB/s", "hbm_bandwidth").to("byte/s").magnitude
    pk = as_quantity(peak_rate, "TFLOP/s", "peak_rate").to("FLOP/s").magnitude
    grad = GRADIENT_BYTES * float(local_parameters)
    cost = HBM_PASSES[method] * grad / bw
    out = {"ratio": 1.0, "cost": cost, "density": 1.0, "rank": 0.0}
    if method == "int8":
        out["ratio"] = INT8_RATIO
    elif method == "topk":
        out["ratio"] = ratio
        out["density"] = ratio / topk_bytes_ratio(1.0)
    elif method == "powersgd":
        m, n = matrix_shape
        rank = ratio * m * n / (m + n)
        if rank < 1:
            raise InputError("platform.compression_ratio", ratio,
                             f"at least (m + n)/(m n) = {(m + n) / (m * n):.2g} for PowerSGD on {m} x {n} matrices (rank 1)",
                             "is below rank 1")
        rank = math.floor(rank)
        out["rank"] = float(rank)
        out["ratio"] = rank * (m + n) / (m * n)
        out["cost"] = cost + 4.0 * rank * float(local_parameters) / (POWERSGD_GEMM_EFFICIENCY * pk)
    return out


def communication_reduction(strategy: str, local_steps: int = 1, compression: str = "none", ratio: float = 1.0,
                            baseline_bytes: float = GRADIENT_BYTES) -> float:
    """Bytes crossing the WAN per step: synchronous data parallel over ``strategy`` [1].

    Notes
    -----
    R = (baseline_bytes / GRADIENT_BYTES) x H / r for diloco (H inner steps per sync), 1 / r for
    sync-dp and hierarchical per all-reduced byte (r the compression bytes ratio). DiLoCo with
    H = 500 and no compression: 500 (Douillard et al. 2023). ``baseline_bytes`` = 4 compares
    with an fp32 all-reduce (INTELLECT-1's 400x = 100 inner steps x fp32 -> int8).
    """
    if strategy not in STRATEGIES:
        raise unknown_name("platform.crossdomain_strategy", strategy, STRATEGIES, "strategy")
    h = int(local_steps)
    if h < 1:
        raise InputError("platform.local_steps", local_steps, "an integer H >= 1", "is below 1")
    if compression == "none":
        r = 1.0
    elif compression == "int8":
        r = INT8_RATIO
    else:
        r = float(ratio)
        if not (0 < r <= 1):
            raise InputError("platform.compression_ratio", ratio, "a bytes ratio in (0, 1]", "is out of range")
    scale = float(baseline_bytes) / GRADIENT_BYTES
    if strategy == "pipeline":
        raise InputError("platform.crossdomain_strategy", strategy, "sync-dp, hierarchical or diloco",
                         "sends activations, not gradients")
    return scale * (h if strategy == "diloco" else 1) / r


# ---------------------------------------------------------------------------------------------
# Step times


def step_times(t_compute, t_intra, grad_bytes, act_bytes, n_sites, dp, bandwidth, latency, *,
               local_steps=1, compression=("none",), ratios=(1.0,), costs=(0.0,), overlap=0.0,
               stages=None, micro_batches=1) -> xr.Dataset:
    """Step time of cross-site training for each strategy and compression (vectorised).

    Parameters
    ----------
    t_compute : float
        Compute of one step on the slowest site [s] (the straggler sets the pace); for the
        pipeline, (m + p - 1) c with c one micro-batch on one stage (the training domain's step
        less its data-parallel part: bubble, tensor- and pipeline-parallel transfers included).
    t_intra : float
        Data-parallel communication inside a site, exposed [s].
    grad_bytes : float
        Gradient of the whole model [B] (P x 2 bytes).
    act_bytes : float
        Activations crossing one site boundary per step, one direction, all data-parallel
        replicas together [B] (pipeline).
    n_sites, dp : int
        Sites and data-parallel replicas.
    bandwidth : float or array
        Effective WAN bandwidth per link [B/s].
    latency : float
        One-way latency of the slowest link [s].
    local_steps : int
        DiLoCo inner steps H.
    compression, ratios, costs : sequences
        Compression names, their bytes ratios and compute costs [s].
    overlap : float
        Compute that can hide a gradient all-reduce [s] (the backward pass when overlapped).
    stages, micro_batches : int
        Pipeline stages p (default: one per site) and micro-batches m per step (default 1);
        fewer stages than sites cannot split across them (pipeline step inf).

    Returns
    -------
    xarray.Dataset: step_time and wan_time [s] over (bandwidth, strategy, compression).

    Notes
    -----
    With X the bytes one WAN link carries and t_wan = X / B + k L:

    * sync-dp: one ring over all dp replicas, X = 2 (dp - 1)/dp G r, k = 2 (dp - 1);
      T = T_c + cost + max(t_intra, t_wan - O).
    * hierarchical: X = 2 (S - 1)/S G r, k = 2 (S - 1); the in-site reduce-scatter and all-gather
      run over n = dp/S replicas, t_site = t_intra ((n - 1)/n) / ((dp - 1)/dp);
      T = T_c + cost + max(t_intra, t_site + t_wan - O) (never below the one-site exposed DP time).
    * pipeline: Megatron-LM's 1F1B with blocking stage-to-stage sends
      (:func:`pipeline_blocking_step_time`, the same kernel, validated on the DT-FM cases): the
      p stages split over the S sites in a chain (p // S per site, one more on the first p % S),
      each of the S - 1 site boundaries a WAN link carrying x = X / m per micro-batch,
      tau = x / B + L (every link at the slowest link's latency); the boundaries inside a site are
      in T_c already. T = (m - 1) max_k (c + tau_{k-1} + tau_k) + p c + 2 (S - 1) tau + t_intra,
      c = T_c / (m + p - 1): every micro-batch waits for its transfer at a site boundary, fill
      and drain cross each WAN link once each way, the data-parallel all-reduce follows the flush.
    * diloco: T = T_c + t_intra + (cost + t_wan) / H (the outer step blocks).

    References
    ----------
    Thakur et al. 2005 (ring all-reduce); Douillard et al. 2023 (DiLoCo); Narayanan et al. 2021;
    Yuan et al., NeurIPS 2022 (DT-FM: Megatron pipelines across regions, the pipeline's validation).
    """
    bws = np.atleast_1d(np.asarray(bandwidth, dtype=float))
    if np.any(~np.isfinite(bws)) or np.any(bws <= 0):
        raise InputError("platform.wan_bandwidth", bandwidth, "a bandwidth > 0")
    h = int(local_steps)
    if h < 1:
        raise InputError("platform.local_steps", local_steps, "an integer H >= 1", "is below 1")
    p, m = _pipeline_plan(n_sites, stages, micro_batches)
    ratios = np.asarray(ratios, dtype=float)
    costs = np.asarray(costs, dtype=float)
    one = lambda v: np.array([float(v)])  # noqa: E731
    step = np.zeros((1, bws.size, 4, ratios.size))
    wan = np.zeros_like(step)
    K.sweep(one(t_compute), one(t_intra), one(overlap), one(grad_bytes), one(act_bytes), one(n_sites), one(max(dp, 1)),
            bws, one(latency), one(h), ratios, costs, one(p), one(m), step, wan)
    coords = {"bandwidth": bws * 8e-9, "strategy": list(STRATEGIES), "compression": list(compression)}
    return xr.Dataset(
        {"step_time": (("bandwidth", "strategy", "compression"), step[0], {"units": "s"}),
         "wan_time": (("bandwidth", "strategy", "compression"), wan[0],
                      {"units": "s", "long_name": "step time added by the WAN and compression"})},
        coords=coords).assign_coords(bandwidth=("bandwidth", bws * 8e-9, {"units": format_unit("Gbit/s")}))


def _pipeline_plan(n_sites, stages, micro_batches):
    """(p, m) of the pipeline strategy as floats for the kernel: p defaults to one stage per site."""
    p = int(n_sites) if stages is None else stages
    if int(p) != p or p < 1:
        raise InputError("stages", stages, "an integer number of pipeline stages >= 1")
    if int(micro_batches) != micro_batches or micro_batches < 1:
        raise InputError("micro_batches", micro_batches, "an integer number of micro-batches >= 1")
    return float(p), float(micro_batches)


def required_bandwidth(target, t_compute, t_intra, grad_bytes, act_bytes, n_sites, dp, latency, *,
                       local_steps=1, ratio=1.0, cost=0.0, overlap=0.0, stages=None, micro_batches=1):
    """Effective WAN bandwidth [B/s] per strategy for compute utilisation ``target`` (inf if none suffices).

    Notes
    -----
    Solves U = (T_c + t_intra) / T(B) = target for B with the equations of :func:`step_times`
    (U: the slowest site's own step over the cross-site step): R = T_target - (terms without B); B = X / (R + O - k L) (sync-dp; hierarchical with R less t_site),
    X / (H R - cost - k L) (diloco); pipeline: the blocking step is affine in 1/B, T(B) =
    T(inf) + D / B, so B = D / (T_target - T(inf)) with T(inf) and D = T(1 B/s) - T(inf) from the
    same kernel as :func:`step_times`; inf where the denominator is <= 0 (latency or intra-site
    communication alone miss the target).
    """
    u = float(target)
    if not (0 < u < 1):
        raise InputError("platform.target_efficiency", target, "a utilisation in (0, 1)")
    tt = (t_compute + t_intra) / u
    out = {}
    x_flat = 2.0 * (dp - 1) / max(dp, 1) * grad_bytes * ratio
    r = tt - t_compute - cost
    d = r + overlap - 2.0 * (dp - 1) * latency
    out["sync-dp"] = x_flat / d if (r >= t_intra and d > 0) else math.inf
    x = 2.0 * (n_sites - 1) / n_sites * grad_bytes * ratio
    k = 2.0 * (n_sites - 1) * latency
    ns = dp / n_sites
    t_site = t_intra * ((ns - 1) / ns) / ((dp - 1) / dp) if (ns > 1 and dp > 1) else 0.0
    r = tt - t_compute - cost
    d = r - t_site + overlap - k
    out["hierarchical"] = (x / d if d > 0 else math.inf) if r >= t_intra else math.inf
    p, m = _pipeline_plan(n_sites, stages, micro_batches)
    pipe = lambda b: K.pipeline_across_sites(t_compute, t_intra, act_bytes, n_sites, p, m, b, latency)  # noqa: E731
    t_inf = pipe(math.inf)
    d = tt - t_inf
    out["pipeline"] = (pipe(1.0) - t_inf) / d if (math.isfinite(t_inf) and d > 0) else math.inf
    d = local_steps * (tt - t_compute - t_intra) - cost - k
    out["diloco"] = x / d if d > 0 else math.inf
    if n_sites == 1:
        out = {s: 0.0 for s in out}
    return out


# ---------------------------------------------------------------------------------------------
# Reading the training domain from the tree


def _training_numbers(sc, state):
    from .. import tree
    from ..training import get_model

    ds = tree.results(state, "training")
    step = tree.value(state, "training", "step_time", "s")
    br = tree.array(state, "training", "breakdown", "s")
    dp_comm = float(br.sel(component="dp_comm")) if "dp_comm" in br.component.values else 0.0
    params = tree.value(state, "training", "parameters", "")
    a = ds.attrs
    tp, pp = int(a.get("plan_tp", sc.workload.tp)), int(a.get("plan_pp", sc.workload.pp))
    dp = int(a.get("plan_dp", 0) or 0) or max(1, sc.cards // (tp * pp))
    micro = int(tree.value(state, "training", "micro_batches", "")) if "micro_batches" in ds else 1
    b = int(a.get("plan_micro_batch", sc.workload.micro_batch))
    s = int(a.get("plan_sequence_length", sc.workload.sequence_length))
    m = get_model(a.get("model", sc.workload.model), "workload.model")
    h = int(getattr(m, "hidden", 0) or 0)
    ffn = int(getattr(m, "ffn_hidden", 0) or 4 * h) if h else 0
    return dict(step=step, dp_comm=dp_comm, compute=step - dp_comm, params=params, tp=tp, pp=pp, dp=dp,
                micro=micro, b=b, s=s, hidden=h, ffn=ffn, model=m.name)


def _accelerator_numbers(sc, state):
    """HBM bandwidth and BF16 rate of compute.accelerator: attained values from /compute/results
    when the compute domain ran (hbm_bandwidth_attained, peak_attained at bf16), else the
    datasheet values of the /compute input group."""
    from .. import tree

    try:
        hbm = tree.value(state, "compute", "hbm_bandwidth_attained", "GB/s")
        peak = float(tree.array(state, "compute", "peak_attained", "TFLOP/s").sel(precision="bf16"))
    except (TwinError, KeyError, ValueError):
        c = state["compute"].to_dataset()
        peak = float(c["peak_bf16_per_card"].values)
        hbm = float(c["hbm_bandwidth_per_card"].values)
    return Q_(hbm, "GB/s"), Q_(peak, "TFLOP/s")


def _inputs(sc, state) -> dict:
    """Everything the step-time equations need, from the scenario and the tree (shared by
    :func:`evaluate_crossdomain` and :func:`bandwidth_sweep`)."""
    p = sc.platform
    names, cards, accs = _parse_sites(sc)
    S = len(names)
    links = _links_dataset(sc, names)
    tr = _training_numbers(sc, state)
    hbm, peak = _accelerator_numbers(sc, state)
    speed = _site_speeds(sc, accs)
    if S > 1 and any(c < tr["tp"] * tr["pp"] for c in cards) and p.crossdomain_strategy != "pipeline":
        small = names[int(np.argmin(cards))]
        raise InputError("platform.sites", list(p.sites),
                         f"at least tp x pp = {tr['tp'] * tr['pp']} cards per site (one model replica)",
                         f"leaves {small!r} {min(cards)} cards")
    site_compute = tr["compute"] / speed
    t_c = float(site_compute.max())
    overlap = BACKWARD_SHARE * t_c if bool(getattr(sc.workload, "dp_overlap", True)) else 0.0
    grad = GRADIENT_BYTES * tr["params"]
    act = tr["dp"] * tr["micro"] * 2.0 * tr["b"] * tr["s"] * tr["hidden"]
    latency = float(links["latency"].max()) * 1e-3 if links.sizes["link"] else 0.0
    bw = float(links["effective_bandwidth"]) / 8e-9  # byte/s
    local = tr["params"] / (tr["tp"] * tr["pp"])
    comp = [compression_model(c, p.compression_ratio, local, hbm, peak,
                              (tr["hidden"] or 12288, tr["ffn"] or 49152)) for c in COMPRESSIONS]
    ratios = [c["ratio"] for c in comp]
    costs = [c["cost"] for c in comp]
    pipe_ok = tr["pp"] >= S
    return dict(names=names, cards=cards, accs=accs, S=S, links=links, tr=tr, speed=speed, site_compute=site_compute,
                t_c=t_c, overlap=overlap, grad=grad, act=act, latency=latency, bw=bw, comp=comp, ratios=ratios,
                costs=costs, pipe_ok=pipe_ok)


def bandwidth_sweep(scenario, state, bandwidths) -> xr.Dataset:
    """Compute utilisation and step time over provisioned WAN bandwidths, every strategy and compression.

    Parameters
    ----------
    scenario : Scenario
    state : DataTree with /training/results
    bandwidths : array of Quantity or float [Gbit/s]
        Provisioned bandwidth per WAN link (sharing and technology efficiency are applied).

    Returns
    -------
    xarray.Dataset: step_time [s], utilisation (card-weighted, as :func:`evaluate_crossdomain`)
    over (bandwidth, strategy, compression); invalid pipelines (pp < sites) are inf / 0.
    """
    sc = load_scenario(scenario)
    x = _inputs(sc, state)
    bws = np.atleast_1d(np.asarray(getattr(bandwidths, "magnitude", bandwidths), dtype=float))
    if hasattr(bandwidths, "to"):
        bws = np.atleast_1d(bandwidths.to("Gbit/s").magnitude)
    if np.any(~np.isfinite(bws)) or np.any(bws <= 0):
        raise InputError("bandwidths", bandwidths, "bandwidths > 0 Gbit/s")
    tech = wan_technology(sc.platform.wan_technology)
    factor = float(sc.platform.wan_sharing) * float(tech["efficiency"])
    tr = x["tr"]
    ds = step_times(x["t_c"], tr["dp_comm"], x["grad"], x["act"], x["S"], tr["dp"], bws * factor / 8e-9, x["latency"],
                    local_steps=sc.platform.local_steps, compression=COMPRESSIONS, ratios=x["ratios"], costs=x["costs"],
                    overlap=x["overlap"], stages=tr["pp"], micro_batches=tr["micro"])
    step = ds["step_time"]
    if x["S"] == 1:
        step = xr.full_like(step, x["t_c"] + tr["dp_comm"])
    w = np.array(x["cards"], dtype=float) / sum(x["cards"])
    own = float((w * (x["site_compute"] + tr["dp_comm"])).sum())
    util = own / step
    out = xr.Dataset({"step_time": step.assign_attrs(units="s"),
                      "utilisation": util.assign_attrs(units="", long_name="compute utilisation, card-weighted")})
    return out.assign_coords(bandwidth=("bandwidth", bws, {"units": format_unit("Gbit/s"), "long_name": "provisioned"}))


def evaluate_crossdomain(scenario, state) -> xr.Dataset:
    """Cross-domain training and placement results of a scenario, read from ``state``'s /training.

    Returns
    -------
    xarray.Dataset
        step_time, communication_share, utilisation, required_bandwidth [Gbit/s],
        wan_bytes_per_step [GB] over (strategy, compression); site_utilisation over ``site``
        (the scenario's strategy and compression); straggler_loss; link distance [km] and
        latency [ms] over ``link``; compression_cost [s] over ``compression``; placement
        (queue_wait, data_transfer_time, run_time, time_to_result [h], energy_cost [CNY/day],
        carbon [t/day] over ``site``; queue_saving_vs_data_site, queue_saving_vs_cheapest [h]); the
        selected configuration, convergence evidence and sources in attrs.
    """
    sc = load_scenario(scenario)
    p = sc.platform
    x = _inputs(sc, state)
    names, cards, accs, S, links, tr, speed = (x[k] for k in ("names", "cards", "accs", "S", "links", "tr", "speed"))
    site_compute, t_c, overlap, grad, act, latency, bw = (x[k] for k in ("site_compute", "t_c", "overlap", "grad", "act",
                                                                         "latency", "bw"))
    comp, ratios, costs, pipe_ok = x["comp"], x["ratios"], x["costs"], x["pipe_ok"]
    table = step_times(t_c, tr["dp_comm"], grad, act, S, tr["dp"], bw, latency, local_steps=p.local_steps,
                       compression=COMPRESSIONS, ratios=ratios, costs=costs, overlap=overlap, stages=tr["pp"],
                       micro_batches=tr["micro"])
    step = table["step_time"].isel(bandwidth=0, drop=True)
    if S == 1:  # one site: nothing crosses a WAN, every strategy is the training domain's step
        step = xr.full_like(step, t_c + tr["dp_comm"])
    if p.crossdomain_strategy == "pipeline" and not pipe_ok:
        raise InputError("platform.crossdomain_strategy", "pipeline",
                         f"pp >= number of sites ({S}) to split pipeline stages across sites",
                         f"has pp = {tr['pp']}")
    weights = np.array(cards, dtype=float) / sum(cards)
    local_step = site_compute + tr["dp_comm"]  # each site's step were it alone
    util = (weights * local_step).sum() / step
    local_max = float(local_step.max())
    req = np.full((4, 4), math.inf)
    for j, c in enumerate(comp):
        r = required_bandwidth(p.target_efficiency, t_c, tr["dp_comm"], grad, act, S, tr["dp"], latency,
                               local_steps=p.local_steps, ratio=c["ratio"], cost=c["cost"], overlap=overlap,
                               stages=tr["pp"], micro_batches=tr["micro"])  # the pipeline ignores ratio and cost
        for i, s in enumerate(STRATEGIES):
            req[i, j] = r[s] * 8e-9  # Gbit/s
    wan_bytes = np.zeros((4, 4))
    for j, c in enumerate(comp):
        wan_bytes[0, j] = 2.0 * (tr["dp"] - 1) / max(tr["dp"], 1) * grad * c["ratio"]
        wan_bytes[1, j] = 2.0 * (S - 1) / S * grad * c["ratio"]
        wan_bytes[2, j] = act if pipe_ok else math.inf
        wan_bytes[3, j] = 2.0 * (S - 1) / S * grad * c["ratio"] / p.local_steps
    if S == 1:
        wan_bytes[:] = 0.0
    sel = dict(strategy=p.crossdomain_strategy, compression=p.compression)
    sel_step = float(step.sel(**sel))
    dims = ("strategy", "compression")
    ds = xr.Dataset(
        {
            "step_time": (dims, step.values, {"units": "s", "long_name": "step time across sites"}),
            "communication_share": (dims, ((step - local_max) / step).values,
                                    {"units": "", "long_name": "share of the step spent on the WAN (and compression) beyond the slowest site's own step"}),
            "utilisation": (dims, np.asarray(util.values), {"units": "", "long_name": "compute utilisation (own step / cross-site step), card-weighted over sites"}),
            "required_bandwidth": (dims, req, {"units": format_unit("Gbit/s"),
                                               "long_name": f"effective WAN bandwidth for {p.target_efficiency:.0%} utilisation of the slowest site"}),
            "wan_bytes_per_step": (dims, wan_bytes * 1e-9, {"units": "GB", "long_name": "bytes one WAN link carries per step"}),
            "compression_cost": (("compression",), np.array(costs), {"units": "s", "long_name": "compute cost of one compression"}),
            "compression_bytes_ratio": (("compression",), np.array(ratios), {"units": ""}),
            "site_cards": (("site",), np.array(cards, dtype=float), {"units": ""}),
            "site_speed": (("site",), speed, {"units": "", "long_name": "BF16 peak relative to compute.accelerator (catalog)"}),
            "site_utilisation": (("site",), local_step / sel_step, {"units": "", "long_name": "compute utilisation per site: its own step over the cross-site step"}),
            "straggler_loss": ((), max(0.0, float(1.0 - (weights * local_step).sum() / local_max)),
                               {"units": "", "long_name": "card-weighted idle share waiting for the slowest site"}),
            "selected_step_time": ((), sel_step, {"units": "s"}),
            "selected_utilisation": ((), float(util.sel(**sel)), {"units": ""}),
            "selected_communication_share": ((), float(((step - local_max) / step).sel(**sel)), {"units": ""}),
            "single_site_step_time": ((), tr["step"], {"units": "s", "long_name": "the training domain's step on one site"}),
            "link_distance": (("link",), links["distance"].values, {"units": "km"}),
            "link_latency": (("link",), links["latency"].values, {"units": "ms"}),
            "wan_effective_bandwidth": ((), float(links["effective_bandwidth"]), {"units": format_unit("Gbit/s")}),
        },
        coords={"strategy": list(STRATEGIES), "compression": list(COMPRESSIONS), "site": names,
                "link": list(links["link"].values)},
        attrs={"strategy": p.crossdomain_strategy, "compression": p.compression, "local_steps": int(p.local_steps),
               "wan_technology": p.wan_technology, "powersgd_rank": comp[3]["rank"], "topk_density": comp[2]["density"],
               "site_speed_source": "catalog BF16 peak ratio (until the compute domain publishes efficiency)",
               "convergence_diloco": " | ".join(CONVERGENCE["diloco"]),
               "convergence_compression": " | ".join(CONVERGENCE[p.compression]) if p.compression != "none" else "no compression",
               "convergence_note": "convergence cost of H and compression is not modelled; published evidence only"},
    )
    pl = placement(sc, names, cards, accs, p.data_site, p.placement_objective)
    out = ds.merge(pl)
    out.attrs.update(ds.attrs)
    out.attrs.update(pl.attrs)
    return out


# ---------------------------------------------------------------------------------------------
# Placement


def _region_prices(region: str):
    """(electricity price [CNY/kWh], grid emission factor [kg/kWh], source) from regions.toml, or None."""
    if "regions" not in catalog.kinds():
        return None
    try:
        e = catalog.get("regions", region)
    except CatalogError:
        return None
    price = e.get("electricity_price")
    ef = e.get("grid_emission_factor")
    if price is None or ef is None:
        return None
    return price.to("CNY/kWh").magnitude if hasattr(price, "to") else float(price), ef.to("kg/kWh").magnitude, e.source


def _site_values(raw, field, names, kind, expected):
    """{candidate index: value} from "site:value" items; sites outside the catalog are errors, catalog
    sites the job does not consider are ignored (like WAN links between sites it does not span)."""
    out = {}
    for item in raw:
        name, sep, val = str(item).partition(":")
        name = name.strip()
        if not sep or not val.strip():
            raise InputError(field, item, f"\"site:{expected}\", e.g. \"hohhot:{'0.5' if kind is float else '4096'}\"")
        if name not in site_names():
            raise unknown_name(field, name, site_names(), "site")
        try:
            v = kind(val.strip())
        except ValueError:
            raise InputError(field, item, f"\"site:{expected}\"", f"has {val.strip()!r} after the site") from None
        if name in names:
            if names.index(name) in out:
                raise InputError(field, item, "each site once", "repeats a site")
            out[names.index(name)] = v
    return out


def site_queues(scenario, names, job_cards, speed):
    """Expected start delay of the whole job at each candidate site, from the site's load [h].

    Parameters
    ----------
    scenario : Scenario (``platform.site_load``, ``platform.site_capacity``, ``platform.job_hours``)
    names : list of str        candidate sites
    job_cards : int            cards the job needs
    speed : array              BF16 peak of each site's accelerator over compute.accelerator's

    Returns
    -------
    dict of arrays over sites: ``wait`` [h], ``run`` [h], ``servers`` (job-sized slots), ``load``
    (utilisation), ``capacity`` [cards].

    Notes
    -----
    A site of C cards is an M/M/c queue of c = floor(C / job cards) job-sized slots; every job
    there holds a slot for T = job_hours / speed (the placed job's length at the site's speed:
    the other tenants' jobs are taken to be like it, an approximation); other work keeps the
    slots busy at utilisation u, so lambda = u c / T and the mean wait is Erlang C's
    W_q = C(c, u c) T / (c (1 - u)) (:func:`twin.platform.native.mmc_wait`).

    References
    ----------
    L. Kleinrock, Queueing Systems Vol. 1 (1975), M/M/c. White paper 1.2 ("east data, west
    computing": cross-region scheduling of compute) and 6.4 (some centres short of resources,
    others idle).
    """
    p = scenario.platform
    n = len(names)
    load = np.zeros(n)
    for i, u in _site_values(p.site_load, "platform.site_load", names, float, "utilisation").items():
        if not (math.isfinite(u) and 0.0 <= u < 1.0):
            raise InputError("platform.site_load", f"{names[i]}:{u:g}", "a utilisation in [0, 1) (a stable queue)",
                             "is negative" if u < 0 else "saturates the site (the queue grows without bound)")
        load[i] = u
    capacity = np.full(n, float(job_cards))
    for i, c in _site_values(p.site_capacity, "platform.site_capacity", names, int, "cards").items():
        if c < job_cards:
            raise InputError("platform.site_capacity", f"{names[i]}:{c}", f"at least the job's {job_cards} cards",
                             "cannot hold the job")
        capacity[i] = c
    servers = np.floor(capacity / job_cards)
    run = p.job_hours.to("h").magnitude / np.asarray(speed, dtype=float)
    wait = np.array([mmc_wait(int(c), u * c / t, t) for c, u, t in zip(servers, load, run)])
    return {"wait": wait, "run": run, "servers": servers, "load": load, "capacity": capacity}


def placement(scenario, names=None, cards=None, accs=None, data_site=None, objective=None) -> xr.Dataset:
    """Where to run the whole job: time to result, energy cost and carbon per candidate site.

    Candidates are the scenario's sites (the job runs on one of them with all its cards). Moving
    the data set (``storage.dataset_size``) from ``platform.data_site`` costs its size over the
    effective WAN bandwidth; the job waits in the site's queue (:func:`site_queues`) and runs
    ``platform.job_hours`` at the site's speed; time to result = wait + transfer + run.
    Energy per day is cards x TDP x 24 h x energy.pue_design, priced and converted to CO2 with
    the region's electricity price and grid emission factor from datasets/catalog/regions.toml
    when present (else cost and carbon are not reported: NaN is never written, the variables
    are left out and ``prices`` says so). Placement by queue (least time to result) is reported
    whatever the objective, with what it saves against the data's site and the cheapest site.
    """
    sc = load_scenario(scenario)
    if names is None:
        names, cards, accs = _parse_sites(sc)
    data_site = sc.platform.data_site if data_site is None else data_site
    objective = sc.platform.placement_objective if objective is None else objective
    _site_entry(data_site, "platform.data_site")
    size_tb = sc.storage.dataset_size.to("TB").magnitude if hasattr(sc.storage, "dataset_size") else 0.0
    tech = wan_technology(sc.platform.wan_technology)
    bw = sc.platform.wan_bandwidth.to("Gbit/s").magnitude * float(sc.platform.wan_sharing) * float(tech["efficiency"])
    total = float(sum(cards))
    transfer = np.zeros(len(names))
    for i, n in enumerate(names):
        if n != data_site:
            d = great_circle(data_site, n).magnitude * float(tech["route_factor"])
            transfer[i] = size_tb * 8e3 / bw / 3600.0 + (d * FIBRE_DELAY_PER_KM) / 3600.0
    q = site_queues(sc, names, int(total), _site_speeds(sc, accs))
    ttr = q["wait"] + transfer + q["run"]
    energy_kwh = np.array([total * catalog.accelerator(a).tdp.to("kW").magnitude * 24.0 * float(sc.energy.pue_design)
                           for a in accs])
    site = ("site",)
    data = {"data_transfer_time": (site, transfer, {"units": "h", "long_name": "moving the data set to the site"}),
            "queue_wait": (site, q["wait"], {"units": "h", "long_name": "expected start delay in the site's queue (M/M/c)"}),
            "run_time": (site, q["run"], {"units": "h", "long_name": "the job's run time at the site's speed"}),
            "time_to_result": (site, ttr, {"units": "h", "long_name": "queue wait + data transfer + run time"}),
            "site_load": (site, q["load"], {"units": "", "long_name": "utilisation of the site's cards by other work"}),
            "site_queue_servers": (site, q["servers"], {"units": "", "long_name": "job-sized slots of the site"}),
            "energy_per_day": (site, energy_kwh, {"units": format_unit("kWh"), "long_name": "whole job on the site, full load"})}
    prices = [_region_prices(str(_site_entry(n, "platform.sites")["region"])) for n in names]
    have_prices = all(pr is not None for pr in prices)
    if have_prices:
        data["energy_cost"] = (site, energy_kwh * np.array([pr[0] for pr in prices]), {"units": (_cost_unit() + "/day") if _cost_unit() else "", "long_name": "electricity per day (CNY)"})
        data["carbon"] = (site, energy_kwh * np.array([pr[1] for pr in prices]) * 1e-3, {"units": "t", "long_name": "CO2 per day"})
    used = objective if have_prices else "time"
    key = {"time": ttr, "cost": data.get("energy_cost", (0, ttr))[1], "carbon": data.get("carbon", (0, ttr))[1]}[used]
    best = int(np.argmin(key))
    base = names.index(data_site) if data_site in names else 0
    fast = int(np.argmin(ttr))
    cheap = int(np.argmin(data["energy_cost"][1])) if have_prices else base
    attrs = {"placement_site": names[best], "placement_objective": objective, "placement_objective_used": used,
             "placement_baseline": names[base], "queue_placement_site": names[fast], "cheapest_site": names[cheap],
             "queue_model": "M/M/c per site: c = site cards // job cards, utilisation platform.site_load, holding time = "
                            "the job's run time there (platform.site_load and site_capacity are assumptions)",
             "prices": "datasets/catalog/regions.toml" if have_prices else
                       "not available (datasets/catalog/regions.toml absent): placement by time to result only"}
    unit = {"time": "h", "cost": _cost_unit() + "/day" if _cost_unit() else "", "carbon": "t/day"}[used]
    data["placement_saving"] = ((), float(key[base] - key[best]),
                                {"units": unit, "long_name": f"{used} saved against running at {names[base]}"})
    data["queue_saving_vs_data_site"] = ((), float(ttr[base] - ttr[fast]), {
        "units": "h", "long_name": f"time to result placement by queue saves against running at {names[base]}"})
    data["queue_saving_vs_cheapest"] = ((), float(ttr[cheap] - ttr[fast]), {
        "units": "h", "long_name": f"time to result placement by queue saves against the cheapest site ({names[cheap]})"})
    return xr.Dataset(data, coords={"site": names}, attrs=attrs)


def _cost_unit() -> str:
    """'CNY' when the unit registry knows the currency, else '' (the long_name says CNY)."""
    from ..units import ureg

    try:
        ureg.Unit("CNY")
        return "CNY"
    except Exception:
        return ""


# ---------------------------------------------------------------------------------------------
# Standalone use


def training_state(sc):
    """A state tree with /training/results (Twin.run; while training predates the contract, its evaluate)."""
    from ..core import Twin

    t = Twin(load_scenario(sc))
    try:
        t.run(["training"])
    except TwinError as exc:
        if "contract" not in str(exc):
            raise
        from .. import training

        t.state["training/results"] = xr.DataTree(training.evaluate(sc))
    return t.state


def crossdomain(scenario, state=None, **overrides) -> xr.Dataset:
    """:func:`evaluate_crossdomain` for a scenario (``platform`` overrides as keywords), running
    the training domain in a throw-away Twin unless a ``state`` with /training/results is given."""
    return evaluate_crossdomain(*scenario_and_state(scenario, state, overrides))


def scenario_and_state(scenario, state=None, overrides=None):
    """(Scenario with ``platform`` overrides applied, state with /training/results): the state
    given, else a throw-away Twin's (shared by :func:`crossdomain` and native.native_pools)."""
    sc = load_scenario(scenario)
    if overrides:
        sc = sc.with_overrides({"platform": {k: _plain(v) for k, v in overrides.items()}})
    return sc, (training_state(sc) if state is None else state)


def _plain(v):
    if hasattr(v, "magnitude") and hasattr(v, "units"):
        return f"{v.magnitude} {format_unit(v.units)}"
    return list(v) if isinstance(v, tuple) else v


__all__ = ["NEEDS", "STRATEGIES", "COMPRESSIONS", "CONVERGENCE", "evaluate_crossdomain", "crossdomain", "step_times",
           "required_bandwidth", "fibre_latency", "great_circle", "site_table", "site_names", "wan_links",
           "wan_technologies", "wan_technology", "compression_model", "topk_bytes_ratio", "bandwidth_sweep", "ring_allreduce_time", "pipeline_blocking_step_time", "communication_reduction", "placement", "site_queues", "training_state", "scenario_and_state"]
