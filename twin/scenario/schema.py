"""The scenario schema as data: one row per field (section, name, kind, unit, default, range).

A scenario TOML has one table per section below. ``kind`` is one of ``int``, ``float``,
``str``, ``bool``, ``quantity`` (``unit`` gives the dimension and the unit it is held in),
``choice`` (``choices``), ``catalog:<kind>`` (a name in datasets/catalog/<kind>.toml) or
``list:str``. Domain owners add fields to their own section.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import catalog


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
    #: why the field moves no result (a label, or read only by a tab): empty for model inputs
    label_only: str = ""

    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name


ERAS = ("heterogeneous", "cluster", "superpool")

FIELDS: list[Field] = [
    # --- meta (top level) -------------------------------------------------------------
    Field("", "name", "str", "unnamed", "Scenario name", label_only="a label"),
    Field("", "era", "choice", "cluster", "White-paper era (Fig. 2-2)", choices=ERAS,
          label_only="a label: an era's choices are the scenario's other fields"),
    Field("", "description", "str", "", "One-line description", label_only="a label"),
    Field("", "source", "str", "", "Where the scenario's numbers come from", label_only="a label"),
    # --- compute (ch. 3.1, 4) -------------------------------------------------------------
    Field("compute", "accelerator", "catalog:accelerators", "A100-SXM4-80GB", "Accelerator model"),
    Field("compute", "nodes", "int", 16, "Number of servers (nodes)", lo=1, hi=1_000_000),
    Field("compute", "cards_per_node", "int", 8, "Accelerators per node", lo=1, hi=1024),
    Field("compute", "topology", "choice", "nvswitch", "Intra-node / super-server card interconnect",
          choices=("pcie", "nvlink-hcm", "nvswitch", "oam-hcm", "oam-fc", "s2-switch")),
    Field("compute", "domain_size", "int", 8, "Cards in one high-speed-bus domain (8 per node, or 64-256 for S^2)", lo=1, hi=100_000),
    Field("compute", "cpus_per_node", "int", 2, "Host CPU sockets per node", lo=0, hi=8),
    Field("compute", "server_class", "choice", "auto", "Server class (datasets/catalog/servers.toml): CPUs, memory, NICs, NVSwitches, drives, PSU and fans of the chassis; auto = the accelerator's default class",
          choices=("auto", *catalog.names("servers"))),
    Field("compute", "cpu_tdp", "quantity", "300 W", "TDP of one host CPU (white paper ch. 7: 150-300 W)", unit="W", lo=0, hi=1000),
    Field("compute", "precision", "choice", "bf16", "Tensor precision of the training matmuls (peak and GEMM ceiling the training "
          "model uses; white paper 4.1 low precision)", choices=("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4")),
    Field("compute", "sparsity", "bool", False, "2:4 structured sparsity of the weights (nominal 2x tensor rate, 1.5x achieved)"),
    Field("compute", "serving_model", "str", "llama2-70b", "Model served for inference (a dense transformer of datasets/models)"),
    Field("compute", "serving_tp", "int", 8, "Tensor-parallel cards of one serving replica (inside the high-speed domain)", lo=1, hi=1024),
    Field("compute", "serving_batch", "int", 64, "Concurrent sequences of one serving replica", lo=1, hi=65536),
    Field("compute", "prompt_tokens", "int", 1024, "Prompt (input) tokens per request", lo=1, hi=10_000_000),
    Field("compute", "output_tokens", "int", 256, "Generated (output) tokens per request", lo=1, hi=10_000_000),
    Field("compute", "weight_precision", "choice", "bf16", "Serving weight format: bf16/fp16, fp8 (FP8 GEMMs and KV cache), "
          "int8 (W8A8), int4 (weight-only, BF16 compute)", choices=("fp32", "bf16", "fp16", "fp8", "int8", "int4")),
    Field("compute", "cim_chip", "catalog:cim", "ibm-hermes-pcm", "Compute-in-memory chip compared with the GPU (datasets/catalog/cim.toml)"),
    Field("compute", "dpu", "choice", "none", "DPU of each server (white paper 4.3)", choices=("none", "bluefield-2", "bluefield-3")),
    Field("compute", "dpu_placement", "choice", "cpu-domain", "Where the DPU replaces NICs (Fig. 3-15): storage/management "
          "NICs under the CPUs, or the parameter-plane NICs under the PCIe switches", choices=("cpu-domain", "gpu-domain")),
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
    Field("fabric", "optics", "choice", "dsp", "Optical module technology: DSP retimed pluggables, linear-drive "
          "pluggables (LPO) or co-packaged optics (CPO) (white paper 3.2.1)", choices=("dsp", "lpo", "cpo")),
    # --- storage (ch. 5) ----------------------------------------------------------------
    Field("storage", "architecture", "choice", "converged", "Storage architecture", choices=("separate", "converged", "global")),
    Field("storage", "capacity", "quantity", "10 PB", "Raw storage capacity", unit="PB", lo=0, hi=1e6),
    Field("storage", "bandwidth", "quantity", "200 GB/s", "Aggregate read bandwidth to the compute nodes", unit="GB/s", lo=0, hi=1e7),
    Field("storage", "redundancy", "str", "ec-8+2", "replica-N or ec-K+M"),
    Field("storage", "memory_pool", "quantity", "0 TiB", "Pooled memory (CXL / compute-bus memory pool)", unit="TiB", lo=0, hi=1e6),
    Field("storage", "protocols", "list:str", ["posix"], "Protocols served: posix, nfs, s3, hdfs, block"),
    Field("storage", "dataset_size", "quantity", "100 TB", "Training data set as uploaded (white paper 5.1: TB scale)", unit="TB", lo=0, hi=1e7),
    Field("storage", "checkpoints_kept", "int", 3, "Checkpoints retained on the hot tier", lo=1, hi=10000),
    Field("storage", "checkpoint_bytes_per_parameter", "float", 14.0, "Checkpoint bytes per parameter (DLIO / MLPerf Storage: bf16 weights + fp32 master, momentum, variance = 14)", lo=0.5, hi=64.0),
    Field("storage", "checkpoint_mode", "choice", "sync", "Checkpoint writes: synchronous (GPU waits for storage) or asynchronous (GPU waits for the copy to host memory only)", choices=("sync", "async")),
    Field("storage", "write_amplification", "float", 1.5, "SSD write amplification of the hot tier (white paper 5.2; enterprise SSDs 1-3 by workload)", lo=1.0, hi=20.0),
    Field("storage", "hot_media", "catalog:storage_media", "nvme-gen4-u2-7.68tb", "Medium of the hot (file) tier"),
    Field("storage", "cold_media", "catalog:storage_media", "hdd-20tb", "Medium of the warm/cold (object) tier"),
    Field("storage", "hot_fraction", "float", 0.3, "Share of raw capacity on the hot tier", lo=0.0, hi=1.0),
    Field("storage", "network", "choice", "separate", "Where storage traffic runs: the parameter (training) network or a separate storage network", choices=("parameter", "separate")),
    Field("storage", "storage_nics_per_node", "int", 1, "Storage-network NIC ports per compute node (network = separate)", lo=0, hi=64),
    Field("storage", "storage_nic_speed", "quantity", "100 Gbit/s", "Line rate of one storage-network NIC port", unit="Gbit/s", lo=1, hi=3200),
    Field("storage", "metadata_rate", "quantity", "100000 1/s", "File-system metadata operations per second (opens, stats)", unit="1/s", lo=1, hi=1e9),
    Field("storage", "data_workload", "choice", "llm", "Data-loader workload of the storage wall: the scenario's LLM tokens, or an MLPerf Storage workload", choices=("llm", "unet3d", "resnet50", "cosmoflow")),
    Field("storage", "bytes_per_token", "int", 4, "Bytes per stored token of the tokenised data set (uint16 = 2, int32 = 4)", lo=1, hi=16),
    Field("storage", "reader_threads", "int", 4, "Data-loader reader threads per accelerator", lo=1, hi=256),
    Field("storage", "sites", "int", 1, "Data centres sharing one global namespace (architecture = global)", lo=1, hi=64),
    Field("storage", "site_distance", "quantity", "0 km", "Fibre distance to the farthest other site", unit="km", lo=0, hi=20000),
    Field("storage", "wan_bandwidth", "quantity", "100 Gbit/s", "Inter-site bandwidth for replication", unit="Gbit/s", lo=0.001, hi=1e6),
    Field("storage", "pool_hosts", "int", 16, "Hosts sharing one CXL memory pool (Pond: 8-16 sockets)", lo=1, hi=4096),
    Field("storage", "cold_after", "quantity", "7 d", "Age after which data (old checkpoints, the raw upload) moves to the cold tier", unit="d", lo=0, hi=3650),
    # --- platform (ch. 6) ---------------------------------------------------------------
    Field("platform", "allocation", "choice", "whole", "GPU allocation", choices=("bare-metal", "whole", "pooled")),
    Field("platform", "scheduler", "choice", "kubernetes", "Scheduler",
          choices=("bare-metal", "vm", "kubernetes", "compute-native", "cross-domain")),
    Field("platform", "pooling_granularity", "float", 1.0, "Smallest GPU share the pool hands out (1 = whole GPU, 0.01 = 1%)", lo=0.0, hi=1.0, lo_open=True),
    Field("platform", "pool_policy", "choice", "BestFit", "GPU scheduling policy of the pool (Weng et al. ATC'23)",
          choices=("Random", "DotProd", "GpuClustering", "GpuPacking", "BestFit", "FGD")),
    Field("platform", "pool_mode", "choice", "fractional", "How a pooled platform hands out GPUs (white paper 6.1; whole cards when allocation is not pooled)",
          choices=("fractional", "mig", "remote", "aggregate", "overcommit")),
    Field("platform", "pool_trace", "str", "sample", "Workload replayed on the pool: \"sample\" (shipped openb-format sample), \"synthetic\", or a path to an openb pod list CSV"),
    Field("platform", "pool_seeds", "int", 3, "Seeds of the FGD protocol averaged", lo=1, hi=100),
    Field("platform", "pool_load", "float", 1.0, "Arrived GPU requests at which the pool is read, as a share of its cards", lo=0.0, hi=1.3, lo_open=True),
    Field("platform", "overcommit", "float", 1.5, "Over-commit factor of a card's sharable capacity (overcommit mode)", lo=1.0, hi=4.0),
    Field("platform", "pool_io_fraction", "float", 0.1, "Share of a pooled job's step time spent moving data off its GPU (host copies for remote GPUs, collectives across nodes for aggregated cards)", lo=0.0, hi=1.0),
    # platform: cross-domain training and compute-native pools (issue 12, twin/platform/crossdomain.py, native.py)
    Field("platform", "sites", "list:str", ["beijing"], "Sites the job spans (datasets/catalog/sites.toml), optionally with cards as \"hohhot:512\"; without counts the cluster's cards are split evenly"),
    Field("platform", "site_accelerators", "list:str", [], "Accelerator of each site in the order of platform.sites (catalog names); sites beyond the list use compute.accelerator"),
    Field("platform", "wan_links", "list:str", [], "WAN links as \"a-b\" or \"a-b@1200 km\" (links between sites the job does not span are unused; empty = a ring over the sites in order, great-circle distance x route factor)"),
    Field("platform", "wan_technology", "choice", "leased-line", "WAN link technology (the type = \"wan\" entries of datasets/catalog/sites.toml)", choices=("dwdm-owned-fibre", "leased-line", "internet")),
    Field("platform", "wan_bandwidth", "quantity", "100 Gbit/s", "Provisioned bandwidth of each WAN link, per direction", unit="Gbit/s", lo=0.0, hi=1e6, lo_open=True),
    Field("platform", "wan_sharing", "float", 1.0, "Share of each WAN link this job gets (the rest carries other traffic, white paper 6.4)", lo=0.0, hi=1.0, lo_open=True),
    Field("platform", "crossdomain_strategy", "choice", "hierarchical", "How the job spans sites (white paper 6.4)", choices=("sync-dp", "hierarchical", "pipeline", "diloco")),
    Field("platform", "local_steps", "int", 100, "DiLoCo inner steps H between cross-site synchronisations", lo=1, hi=100000),
    Field("platform", "compression", "choice", "none", "Compression of what crosses the WAN (gradients or pseudo-gradients)", choices=("none", "int8", "topk", "powersgd")),
    Field("platform", "compression_ratio", "float", 0.01, "Bytes sent over bytes of the bf16 gradient for top-k and PowerSGD (int8 is fixed at 0.5)", lo=0.0, hi=1.0, lo_open=True),
    Field("platform", "target_efficiency", "float", 0.9, "Compute utilisation for which the WAN bandwidth needed is reported", lo=0.0, hi=1.0, lo_open=True),
    Field("platform", "data_site", "catalog:sites", "beijing", "Site where the training data set lives (datasets/catalog/sites.toml)"),
    Field("platform", "placement_objective", "choice", "cost", "What cross-region placement minimises: time to result (queue wait + data transfer + run), electricity cost or carbon", choices=("time", "cost", "carbon")),
    Field("platform", "site_load", "list:str", [], "Load other work puts on each candidate site, as \"site:utilisation\" (share of the site's cards busy, 0 <= u < 1; unlisted sites idle): sets the M/M/c queue a placed job waits in. Source: assumption (no per-site load is published; white paper 6.4: some centres short of resources, others idle)"),
    Field("platform", "site_capacity", "list:str", [], "Accelerator cards of each candidate site (all tenants) as \"site:cards\", at least the job's cards; unlisted sites hold exactly the job. Servers of the site's queue = cards // the job's cards. Source: assumption"),
    Field("platform", "job_hours", "quantity", "48 h", "Run time of the placed job on compute.accelerator (slower or faster at a site in proportion to its BF16 peak); also the mean holding time of the job-sized slots of each site's queue. Source: assumption (a multi-day training or fine-tuning run)", unit="h", lo=0.0, hi=1e5, lo_open=True),
    Field("platform", "accelerator_mix", "list:str", [], "Compute-native pool: accelerator families as \"name:cards\" (empty = compute.accelerator only)"),
    Field("platform", "native_job_share", "float", 0.7, "Share of jobs built for the first family of accelerator_mix (the rest split evenly over the others)", lo=0.0, hi=1.0),
    Field("platform", "porting_overhead", "float", 0.15, "Throughput lost when a job runs translated on a family it was not built for", lo=0.0, hi=0.95),
    Field("platform", "offered_load", "float", 0.7, "Job demand as a share of the unified pool's capacity", lo=0.0, hi=0.999, lo_open=True),
    Field("platform", "mean_job_hours", "quantity", "12 h", "Mean job length on its native family (one server per job)", unit="h", lo=0.0, hi=1e5, lo_open=True),
    # --- energy (ch. 7) -----------------------------------------------------------------
    Field("energy", "cooling", "choice", "air", "Cooling",
          choices=("air", "air+cold-plate", "cold-plate", "cold-plate+immersion", "immersion")),
    Field("energy", "liquid_fraction", "float", 0.0, "Fraction of IT heat removed by liquid", lo=0.0, hi=1.0),
    Field("energy", "supply_temperature", "quantity", "35 degC", "Supply temperature of the liquid coolant at the IT (ASHRAE W classes); unused for air-only halls", unit="degC", lo=-10, hi=70),
    Field("energy", "air_supply_temperature", "quantity", "24 degC", "Supply (inlet) air temperature at the IT (ASHRAE recommended 18-27 degC)", unit="degC", lo=-10, hi=60),
    Field("energy", "climate", "str", "beijing", "City whose climate drives free cooling"),
    Field("energy", "coolant", "catalog:coolants", "air", "Coolant (a name in datasets/catalog/coolants.toml)"),
    Field("energy", "servers_per_rack", "int", 4, "Servers per rack", lo=1, hi=128),
    Field("energy", "fault_horizon", "quantity", "30 min", "Horizon of the fault transients (CDU pump failure, isolated leak, chiller trip, each at t = 60 s)", unit="min", lo=2, hi=1440),
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
    Field("workload", "cp", "int", 1, "Context-parallel degree: ring attention over cp ranks, each holding sequence_length / cp tokens (Llama 3 405B: 16 at 128K tokens)", lo=1, hi=1024),
    Field("workload", "offload", "choice", "none", "ZeRO-Offload style offload to the offload tier: optimizer state and step, or also the activations in flight", choices=("none", "optimizer", "optimizer+activations")),
    Field("workload", "offload_tier", "choice", "host-ddr", "Where offloaded state lives: host DDR over the GPU's PCIe link, or the CXL memory pool (storage.memory_pool)", choices=("host-ddr", "cxl-pool")),
    Field("workload", "zero_stage", "int", 1, "ZeRO / distributed-optimizer stage over data parallelism (0-3)", lo=0, hi=3),
    Field("workload", "attention", "choice", "flash", "Attention kernel: fused flash attention or unfused softmax (stores s^2 scores)", choices=("flash", "unfused")),
    Field("workload", "dp_overlap", "bool", True, "Overlap the data-parallel gradient reduction with the backward pass"),
    Field("workload", "uneven_pipeline", "bool", False, "Uneven pipeline stages: chunks of ceil(L/(pp v)) layers, "
          "first and last stage lighter (Llama 3 405B: 126 layers on PP 16)",
          label_only="a permission: it admits plans whose layers do not divide evenly into the stages; a plan valid both ways runs the same"),
    Field("workload", "failure_rate", "quantity", "2e-5 /h", "Job-interrupting failures per card-hour (Llama 3 405B: 419 unexpected interruptions in 54 days on 16,384 GPUs = 2.0e-5 /h)", unit="1/h", lo=0, hi=1),
    Field("workload", "restart_time", "quantity", "10 min", "Time from a failure to training again (detect, reschedule, reload checkpoint)", unit="min", lo=0, hi=10000),
    # --- cost and carbon (beyond the white paper) ------------------------------------------
    Field("cost", "region", "catalog:regions", "china-national", "Site: electricity price, grid emission factor and renewable share (datasets/catalog/regions.toml)"),
    Field("cost", "prices", "str", "default-2024", "Price file in datasets/prices (stem), each price with year and source"),
    Field("cost", "electricity_price", "quantity", "0 CNY/kWh", "Electricity price the site pays; 0 = the region's price", unit="CNY/kWh", lo=0, hi=100),
    Field("cost", "it_depreciation", "quantity", "5 year", "Depreciation period of accelerators, servers, network and storage", unit="year", lo=0.5, hi=30, lo_open=False),
    Field("cost", "facility_depreciation", "quantity", "15 year", "Depreciation period of the power chain and cooling plant", unit="year", lo=1, hi=50),
    Field("cost", "building_depreciation", "quantity", "30 year", "Depreciation period of the building (IT white space)", unit="year", lo=1, hi=100),
    Field("cost", "training_tokens", "float", 300e9, "Tokens of the training run priced per run (GPT-3: 300B, Brown et al. 2020)", lo=1.0, hi=1e15),
]

SECTIONS = tuple(dict.fromkeys(f.section for f in FIELDS if f.section))


def fields_of(section: str) -> dict[str, Field]:
    return {f.name: f for f in FIELDS if f.section == section}


def schema_table():
    """The schema as a pandas DataFrame (attribute, unit, default, description), PyPSA style."""
    import pandas as pd

    return pd.DataFrame([{"field": f.path, "kind": f.kind, "unit": f.unit, "default": f.default,
                          "range": "" if f.lo is None and f.hi is None else f"[{f.lo}, {f.hi}]",
                          "choices": ", ".join(f.choices), "description": f.description,
                          "label_only": f.label_only} for f in FIELDS])
