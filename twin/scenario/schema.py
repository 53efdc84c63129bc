"""The scenario schema as data: one row per field (section, name, kind, unit, default, range).

A scenario TOML has one table per section below. ``kind`` is one of ``int``, ``float``,
``str``, ``bool``, ``quantity`` (``unit`` gives the dimension and the unit it is held in),
``choice`` (``choices``), ``catalog:<kind>`` (a name in datasets/catalog/<kind>.toml) or
``list:str``. Domain owners add fields to their own section.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    section: str
    name: str
    kind: str
    default: Any
    description: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    lo_open: bool = False

    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name


ERAS = ("heterogeneous", "cluster", "superpool")

FIELDS: list[Field] = [
    # --- meta (top level) -------------------------------------------------------------
    Field("", "name", "str", "unnamed", "Scenario name"),
    Field("", "era", "choice", "cluster", "White-paper era (Fig. 2-2)", choices=ERAS),
    Field("", "description", "str", "", "One-line description"),
    Field("", "source", "str", "", "Where the scenario's numbers come from"),
    # --- compute (ch. 3.1, 4) -------------------------------------------------------------
    Field("compute", "accelerator", "catalog:accelerators", "A100-SXM4-80GB", "Accelerator model"),
    Field("compute", "nodes", "int", 16, "Number of servers (nodes)", lo=1, hi=1_000_000),
    Field("compute", "cards_per_node", "int", 8, "Accelerators per node", lo=1, hi=1024),
    Field("compute", "topology", "choice", "nvswitch", "Intra-node / super-server card interconnect",
          choices=("pcie", "nvlink-hcm", "nvswitch", "oam-hcm", "oam-fc", "s2-switch")),
    Field("compute", "domain_size", "int", 8, "Cards in one high-speed-bus domain (8 per node, or 64-256 for S^2)", lo=1, hi=100_000),
    Field("compute", "cpus_per_node", "int", 2, "Host CPU sockets per node", lo=0, hi=8),
    Field("compute", "cpu_tdp", "quantity", "300 W", "TDP of one host CPU (white paper ch. 7: 150-300 W)", unit="W", lo=0, hi=1000),
    # --- fabric (ch. 3.2) ---------------------------------------------------------------
    Field("fabric", "protocol", "choice", "roce", "Scale-out network protocol", choices=("ethernet", "roce", "infiniband", "gse")),
    Field("fabric", "topology", "choice", "fat-tree-2tier", "Scale-out topology",
          choices=("fat-tree-2tier", "fat-tree-3tier", "rail-optimized", "dual-plane")),
    Field("fabric", "nics_per_node", "int", 8, "Scale-out NICs (ports) per node", lo=1, hi=64),
    Field("fabric", "nic_speed", "quantity", "200 Gbit/s", "Line rate of one NIC port", unit="Gbit/s", lo=1, hi=3200),
    Field("fabric", "spine_link_speed", "quantity", "400 Gbit/s", "Line rate of switch-to-switch links", unit="Gbit/s", lo=1, hi=3200),
    Field("fabric", "switch", "catalog:switches", "tomahawk4-25.6t", "Switch chip of the fabric"),
    Field("fabric", "radix", "int", 64, "Ports per switch at spine_link_speed", lo=4, hi=1024),
    Field("fabric", "oversubscription", "float", 1.0, "Leaf downlink:uplink ratio (1 = non-blocking)", lo=1.0, hi=16.0),
    Field("fabric", "load_balancing", "choice", "ecmp", "Path selection", choices=("ecmp", "spraying", "gse", "adaptive")),
    Field("fabric", "congestion_control", "choice", "dcqcn", "Congestion control", choices=("tcp", "pfc", "dcqcn", "hpcc", "credits", "dgsq")),
    Field("fabric", "flows_per_pair", "int", 1, "Flows (QPs) per communicating pair", lo=1, hi=256),
    Field("fabric", "placement", "choice", "contiguous", "Where a job's nodes sit: a contiguous block, or scattered "
          "across the fabric as in a shared, pooled cluster (Meta, SIGCOMM 2024: fragmented placement cost > 30%)",
          choices=("contiguous", "scattered")),
    # --- storage (ch. 5) ----------------------------------------------------------------
    Field("storage", "architecture", "choice", "converged", "Storage architecture", choices=("separate", "converged", "global")),
    Field("storage", "capacity", "quantity", "10 PB", "Raw storage capacity", unit="PB", lo=0, hi=1e6),
    Field("storage", "bandwidth", "quantity", "200 GB/s", "Aggregate read bandwidth to the compute nodes", unit="GB/s", lo=0, hi=1e7),
    Field("storage", "redundancy", "str", "ec-8+2", "replica-N or ec-K+M"),
    Field("storage", "memory_pool", "quantity", "0 TiB", "Pooled memory (CXL / compute-bus memory pool)", unit="TiB", lo=0, hi=1e6),
    Field("storage", "protocols", "list:str", ["posix"], "Protocols served: posix, nfs, s3, hdfs, block"),
    # --- platform (ch. 6) ---------------------------------------------------------------
    Field("platform", "allocation", "choice", "whole", "GPU allocation", choices=("bare-metal", "whole", "pooled")),
    Field("platform", "scheduler", "choice", "kubernetes", "Scheduler",
          choices=("bare-metal", "vm", "kubernetes", "compute-native", "cross-domain")),
    Field("platform", "pooling_granularity", "float", 1.0, "Smallest GPU share the pool hands out (1 = whole GPU, 0.01 = 1%)", lo=0.0, hi=1.0, lo_open=True),
    # --- energy (ch. 7) -----------------------------------------------------------------
    Field("energy", "cooling", "choice", "air", "Cooling",
          choices=("air", "air+cold-plate", "cold-plate", "cold-plate+immersion", "immersion")),
    Field("energy", "liquid_fraction", "float", 0.0, "Fraction of IT heat removed by liquid", lo=0.0, hi=1.0),
    Field("energy", "supply_temperature", "quantity", "35 degC", "Supply temperature of the liquid coolant at the IT (ASHRAE W classes); unused for air-only halls", unit="degC", lo=-10, hi=70),
    Field("energy", "air_supply_temperature", "quantity", "24 degC", "Supply (inlet) air temperature at the IT (ASHRAE recommended 18-27 degC)", unit="degC", lo=-10, hi=60),
    Field("energy", "climate", "str", "beijing", "City whose climate drives free cooling"),
    Field("energy", "coolant", "catalog:coolants", "air", "Coolant (a name in datasets/catalog/coolants.toml)"),
    Field("energy", "servers_per_rack", "int", 4, "Servers per rack", lo=1, hi=128),
    Field("energy", "pue_design", "float", 1.5, "Design PUE used where the facility model is not run", lo=1.0, hi=3.0),
    # --- workload (ch. 3.1.1, 6.3) ------------------------------------------------------
    Field("workload", "model", "str", "gpt3-175b", "Model name in the model zoo (datasets/models)"),
    Field("workload", "tp", "int", 8, "Tensor-parallel degree", lo=1, hi=1024),
    Field("workload", "pp", "int", 1, "Pipeline-parallel degree", lo=1, hi=1024),
    Field("workload", "dp", "int", 0, "Data-parallel degree (0 = all remaining cards)", lo=0, hi=1_000_000),
    Field("workload", "ep", "int", 1, "Expert-parallel degree", lo=1, hi=1024),
    Field("workload", "micro_batch", "int", 1, "Micro-batch size", lo=1, hi=4096),
    Field("workload", "global_batch", "int", 1536, "Global batch size (sequences)", lo=1, hi=10_000_000),
    Field("workload", "sequence_length", "int", 2048, "Sequence length (tokens)", lo=1, hi=10_000_000),
    Field("workload", "virtual_stages", "int", 1, "Interleaved pipeline: model chunks per pipeline rank (1 = plain 1F1B)", lo=1, hi=128),
    Field("workload", "recompute", "choice", "selective", "Activation recomputation", choices=("none", "selective", "full")),
    Field("workload", "sequence_parallel", "bool", True, "Megatron sequence parallelism inside the tensor-parallel group"),
    Field("workload", "zero_stage", "int", 1, "ZeRO / distributed-optimizer stage over data parallelism (0-3)", lo=0, hi=3),
    Field("workload", "attention", "choice", "flash", "Attention kernel: fused flash attention or unfused softmax (stores s^2 scores)", choices=("flash", "unfused")),
    Field("workload", "dp_overlap", "bool", True, "Overlap the data-parallel gradient reduction with the backward pass"),
    Field("workload", "uneven_pipeline", "bool", False, "Uneven pipeline stages: chunks of ceil(L/(pp v)) layers, "
          "first and last stage lighter (Llama 3 405B: 126 layers on PP 16)"),
    Field("workload", "failure_rate", "quantity", "2e-5 /h", "Job-interrupting failures per card-hour (Llama 3 405B: 419 unexpected interruptions in 54 days on 16,384 GPUs = 2.0e-5 /h)", unit="1/h", lo=0, hi=1),
    Field("workload", "restart_time", "quantity", "10 min", "Time from a failure to training again (detect, reschedule, reload checkpoint)", unit="min", lo=0, hi=10000),
]

SECTIONS = tuple(dict.fromkeys(f.section for f in FIELDS if f.section))


def fields_of(section: str) -> dict[str, Field]:
    return {f.name: f for f in FIELDS if f.section == section}


def schema_table():
    """The schema as a pandas DataFrame (attribute, unit, default, description), PyPSA style."""
    import pandas as pd

    return pd.DataFrame([{"field": f.path, "kind": f.kind, "unit": f.unit, "default": f.default,
                          "range": "" if f.lo is None and f.hi is None else f"[{f.lo}, {f.hi}]",
                          "choices": ", ".join(f.choices), "description": f.description} for f in FIELDS])
