"""Offload tiers of a training plan (ZeRO-Offload style): host DDR over the GPU's PCIe link, or a
CXL-attached memory pool (white paper 5.5).

With ``offload = "optimizer"`` the fp32 master weights, momentum and variance (12 B per local
parameter) and the optimizer step move to the host; the GPU keeps fp16 weights and gradients.
Each step sends the fp16 gradients down (2 B per local parameter, overlapped with the backward
pass), runs a memory-bound CPU Adam over the tier (36 B per local parameter, as the GPU step),
and sends the updated fp16 weights back (2 B per local parameter). ``"optimizer+activations"``
also parks the activations of the micro-batches in flight on the tier (two stay in HBM: the one
computing and the one in transfer), moving each micro-batch's activations down and back
overlapped with its compute. The kernel (``_kernels.evaluate_plan``) prices these transfers.

Constants (per node and per GPU; estimates are labelled as such)
-----------------------------------------------------------------
ETA_HOST_LINK = 0.8
    Share of the host link's per-direction bandwidth that pinned host <-> device copies reach:
    CUDA ``bandwidthTest`` / nvbandwidth on PCIe 4.0 x16 report about 25 GB/s of 31.5 GB/s
    (0.79), on PCIe 5.0 x16 about 50-55 GB/s of 63 GB/s. Estimate from those public reports.
GPUS_PER_HOST_UPLINK = 2
    In DGX A100 and DGX H100 class servers two GPUs (and their NICs) share one PCIe switch whose
    x16 uplink reaches the CPU (NVIDIA DGX A100 User Guide, system topology: 4 PCIe switches for 8
    GPUs), so when every GPU offloads at once each gets half of the uplink.
HOST_DDR_BANDWIDTH, HOST_DDR_CAPACITY
    Two-socket host of the GPU generation: PCIe 4 hosts (DGX A100: 2 x AMD EPYC 7742, 8 channels
    DDR4-3200 each = 409.6 GB/s, 1 TB standard; NVIDIA DGX A100 datasheet) and PCIe 5 hosts
    (DGX H100: 2 x Xeon 8480C, 8 channels DDR5-4800 = 614.4 GB/s, 2 TB; NVIDIA DGX H100
    datasheet). Shared by the node's GPUs.
ETA_DDR = 0.7
    STREAM triad on two-socket servers reaches about 70-80 % of the DDR peak (McCalpin's STREAM
    results for EPYC Rome / Sapphire Rapids); 0.7 used for CPU Adam (estimate).
CXL_LINKS_PER_NODE = 2, ETA_CXL = 0.5
    One CXL 2.0 x16 port per socket to the pool (estimate); a CXL memory device reaches about half
    of the x16 link in measured sequential bandwidth (Sun et al., "Demystifying CXL Memory with
    Genuine CXL-Ready Systems and Devices", MICRO 2023, report expanders well below the link
    rate; 0.5 is an estimate). The GPU reaches the pool through its own host link, so its rate is
    the smaller of the two shares. Capacity: ``storage.memory_pool`` / cards.

References
----------
J. Ren et al., "ZeRO-Offload: Democratizing Billion-Scale Model Training", USENIX ATC 2021.
Y. Sun et al., MICRO 2023 (CXL memory measurements). CXL Consortium, CXL 2.0 specification.
"""
from __future__ import annotations

from .. import catalog
from ..errors import InputError
from ..units import magnitude
from . import _kernels as K

OFFLOAD_MODES = {"none": K.OFF_NONE, "optimizer": K.OFF_OPT, "optimizer+activations": K.OFF_OPT_ACT}
OFFLOAD_TIERS = ("host-ddr", "cxl-pool")

ETA_HOST_LINK = 0.8
GPUS_PER_HOST_UPLINK = 2
HOST_DDR_BANDWIDTH = {"pcie4-x16": 409.6e9, "pcie5-x16": 614.4e9}   # B/s per node
HOST_DDR_CAPACITY = {"pcie4-x16": 1.0e12, "pcie5-x16": 2.0e12}      # B per node
ETA_DDR = 0.7
CXL_LINKS_PER_NODE = 2
ETA_CXL = 0.5
_DEFAULT_HOST = "pcie4-x16"


def check_offload(mode, field: str = "workload.offload") -> str:
    if mode not in OFFLOAD_MODES:
        raise InputError(field, mode, "'none', 'optimizer' or 'optimizer+activations'", "is not an offload mode")
    return mode


def check_tier(tier, field: str = "workload.offload_tier") -> str:
    if tier not in OFFLOAD_TIERS:
        raise InputError(field, tier, "'host-ddr' or 'cxl-pool'", "is not an offload tier")
    return tier


def tier_rates(sc, tier: str) -> tuple[float, float, float]:
    """(GPU <-> tier bandwidth per GPU [B/s], tier memory bandwidth per GPU [B/s], capacity per GPU [B]).

    Notes
    -----
    host-ddr: link = ETA_HOST_LINK x host link (catalog ``host_link`` of the accelerator) /
    GPUS_PER_HOST_UPLINK;
    memory = ETA_DDR x node DDR bandwidth / cards per node; capacity = node DDR / cards per node.
    cxl-pool: link = min(host link share, ETA_CXL x CXL_LINKS_PER_NODE x cxl2-x16 / cards per node);
    memory = the same CXL share; capacity = storage.memory_pool / cards (0 when there is no pool).
    """
    check_tier(tier)
    acc = catalog.accelerator(sc.compute.accelerator)
    link_name = str(acc.get("host_link", _DEFAULT_HOST))
    host_link = catalog.link_bandwidth(link_name).to("B/s").magnitude * ETA_HOST_LINK / GPUS_PER_HOST_UPLINK
    cpn = max(int(sc.compute.cards_per_node), 1)
    gen = link_name if link_name in HOST_DDR_BANDWIDTH else _DEFAULT_HOST
    if tier == "host-ddr":
        return (float(host_link), ETA_DDR * HOST_DDR_BANDWIDTH[gen] / cpn, HOST_DDR_CAPACITY[gen] / cpn)
    pool = magnitude(sc.storage.memory_pool, "B", "storage.memory_pool")
    if pool <= 0:
        return 0.0, 0.0, 0.0
    cxl = ETA_CXL * CXL_LINKS_PER_NODE * catalog.link_bandwidth("cxl2-x16").to("B/s").magnitude / cpn
    rate = min(float(host_link), float(cxl))
    return rate, float(cxl), pool / sc.cards


def fill_offload(sc, hw, tier: str):
    """Write the tier's rates into the kernel's hardware vector (HW_OFF_*) and return it."""
    bw, mem_bw, cap = tier_rates(sc, tier)
    hw[K.HW_OFF_BW] = bw
    hw[K.HW_OFF_MEM_BW] = mem_bw
    hw[K.HW_OFF_CAP] = cap
    return hw


__all__ = ["OFFLOAD_MODES", "OFFLOAD_TIERS", "tier_rates", "fill_offload", "check_offload", "check_tier"]
