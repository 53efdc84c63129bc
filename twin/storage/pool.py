"""The memory pool on a compute bus (white paper 5.5): local DDR, CXL-attached, switched pool.

Tiers with latency and bandwidth, the stranded memory a pool of N hosts recovers, and what the
pool changes for a training job: whether the optimizer state or a checkpoint snapshot fits in
host memory, and the transfer time per step when optimizer state lives there (ZeRO-Offload).
Plain floats in SI units; :func:`twin.storage.memory_pool` is the public, unit-aware entry.
"""
from __future__ import annotations

import math

#: Idle load-to-use latency of CPU-attached DDR5 [s]: "sub-100 ns round trip you'd expect from
#: DDR attached directly to the CPU" (The Next Platform, "Just how bad is CXL memory latency?",
#: Dec 2022); 100 ns is taken.
LOCAL_DDR_LATENCY = 100e-9

#: Bandwidth of one socket's DDR5 [B/s]: 8 channels x 4800 MT/s x 8 B = 307 GB/s (JEDEC DDR5-4800,
#: 8 channels per 4th-gen Xeon socket).
LOCAL_DDR_BANDWIDTH = 8 * 4800e6 * 8

#: Host memory of an 8-GPU training server [B]: NVIDIA DGX H100 datasheet, 2 TB.
HOST_MEMORY = 2e12

#: Added latency of one CXL switch traversal [s]. ASSUMPTION: no measured CXL 2.0 switch latency is
#: in our sources; the order of a PCIe/CXL switch port-to-port hop (~100 ns) is used and labelled so.
SWITCH_LATENCY = 100e-9

#: Coefficient of variation of one host's memory demand [1]. Calibrated on one published number
#: (``pond-pool16-dram-saving``, calibrated): Pond (Li et al., ASPLOS 2023) reports a 7% DRAM
#: reduction for pools of 16 sockets; the statistical-multiplexing model below gives 7% at CV 0.044.
DEMAND_CV = 0.044

#: Quantile each host (or pool) is provisioned for [1]: z = 2.33, the 99th percentile.
PROVISION_Z = 2.33


def stranded_recovered(hosts: int, cv: float = DEMAND_CV, z: float = PROVISION_Z) -> float:
    """Share of DRAM a pool of ``hosts`` saves against provisioning every host alone [1].

    Notes
    -----
    With independent demands of mean mu and standard deviation sigma = CV mu, a host alone needs
    mu + z sigma; a pool of N hosts needs N mu + z sigma sqrt(N). Saving
    s = 1 - (1 + z CV / sqrt(N)) / (1 + z CV); s = 0 for N = 1 and tends to z CV / (1 + z CV).
    """
    n = max(1, int(hosts))
    return 1.0 - (1.0 + z * cv / math.sqrt(n)) / (1.0 + z * cv)


def tiers(expander_latency: float, expander_bandwidth: float, pool_hosts: int) -> dict:
    """Latency [s] and bandwidth [B/s] of local DDR, a CXL-attached expander and a switched pool.

    Notes
    -----
    Local: LOCAL_DDR_LATENCY / LOCAL_DDR_BANDWIDTH. CXL-attached: the expander's catalog load
    latency and link bandwidth. Switched pool: one switch hop more (SWITCH_LATENCY) when the pool
    spans more hosts than the expander has heads (4 here); its x16 link is shared by the hosts
    that read at the same time, taken as all of them in the worst case.
    """
    switched = pool_hosts > 4
    pool_lat = expander_latency + (SWITCH_LATENCY if switched else 0.0)
    pool_bw = expander_bandwidth / max(1, pool_hosts) if switched else expander_bandwidth
    return {"local-ddr": (LOCAL_DDR_LATENCY, LOCAL_DDR_BANDWIDTH),
            "cxl-attached": (expander_latency, expander_bandwidth),
            "cxl-pool": (pool_lat, pool_bw)}


def offload_transfer(parameters_per_card: float, cards_per_node: int, pcie_bw_card: float, tier_bw: float) -> float:
    """Time per step [s] to move a card's ZeRO-Offload traffic to and from a host-side tier.

    Notes
    -----
    ZeRO-Offload moves fp16 gradients down and fp16 parameters up every step: 4 bytes per local
    parameter (Ren et al., USENIX ATC 2021). Each card's share of the tier is tier_bw / c; the
    slower of that and its PCIe copy rate sets the time.
    """
    bw = min(pcie_bw_card, tier_bw / cards_per_node)
    return 4.0 * parameters_per_card / bw
