"""GPU cluster traces: the Alibaba openb CSV format, checked, and a synthetic generator.

A trace is a set of nodes (CPU milli-cores, memory MiB, GPUs of one model) and a list of
pods (CPU, memory, whole GPUs, a milli-GPU fraction of one GPU, an optional set of allowed
GPU models, creation and deletion times). :func:`load_openb` reads the format of the
``cluster-trace-gpu-v2023`` (openb) trace; :func:`synthetic_openb` draws a cluster and
workload with the trace's published statistics for tests and for users without the trace.

References
----------
.. [1] Weng, Q. et al. "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
   Fragmentation Gradient Descent." USENIX ATC 2023 (trace: alibaba/clusterdata,
   cluster-trace-gpu-v2023; 1,213 GPU nodes, 6,212 GPUs, 8,152 pods).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")  # gpu_spec optional (multigpuNN lists lack it)
WRITE_POD_COLUMNS = POD_COLUMNS + ("gpu_spec",)
MILLI = 1000


@dataclass
class Trace:
    """Nodes and pods of a GPU cluster trace (plain arrays; CPU in milli, memory in MiB)."""

    node_name: np.ndarray
    node_cpu: np.ndarray
    node_mem: np.ndarray
    node_gpus: np.ndarray
    node_model: np.ndarray          # str per node ("" for CPU-only nodes)
    pod_name: np.ndarray
    pod_cpu: np.ndarray
    pod_mem: np.ndarray
    pod_ngpu: np.ndarray
    pod_milli: np.ndarray           # milli-GPU per requested GPU (1000 for whole cards, 0 for none)
    pod_spec: np.ndarray            # "" or "A|B" allowed GPU models
    pod_create: np.ndarray
    pod_delete: np.ndarray
    name: str = "trace"
    models: tuple = field(default=())

    def __post_init__(self):
        if not self.models:
            self.models = tuple(sorted({m for m in self.node_model if m}))

    @property
    def n_nodes(self) -> int:
        return int(self.node_cpu.size)

    @property
    def n_gpus(self) -> int:
        return int(self.node_gpus.sum())

    @property
    def n_pods(self) -> int:
        return int(self.pod_cpu.size)

    def model_bits(self) -> tuple[np.ndarray, np.ndarray]:
        """(node type bit, pod allowed-model mask) as int64 bit sets over :attr:`models`."""
        idx = {m: i for i, m in enumerate(self.models)}
        if len(idx) > 62:
            raise InputError("trace.model", len(idx), "at most 62 GPU models")
        tbit = np.array([(1 << idx[m]) if m else 0 for m in self.node_model], dtype=np.int64)
        every = (1 << len(idx)) - 1 if idx else 0
        mask = np.empty(self.n_pods, dtype=np.int64)
        for i, spec in enumerate(self.pod_spec):
            if not spec:
                mask[i] = every
                continue
            b = 0
            for m in spec.split("|"):
                if m and m in idx:
                    b |= 1 << idx[m]
            mask[i] = b
        return tbit, mask

    def statistics(self) -> dict:
        """The numbers the openb README and the FGD paper publish about a trace."""
        gpu = self.pod_ngpu > 0
        frac = gpu & (self.pod_ngpu == 1) & (self.pod_milli < MILLI)
        return {"gpu_nodes": int((self.node_gpus > 0).sum()), "gpus": self.n_gpus, "pods": self.n_pods,
                "gpu_pods": int(gpu.sum()), "fractional_pods": int(frac.sum()),
                "fractional_share": float(frac.sum() / max(gpu.sum(), 1)),
                "median_fraction_milli": float(np.median(self.pod_milli[frac])) if frac.any() else float("nan"),
                "requested_gpus": float((self.pod_ngpu * self.pod_milli).sum() / MILLI)}


def _read_csv(path: Path, columns, what: str) -> list[dict]:
    if not path.is_file():
        raise InputError(what, str(path), f"an existing openb {what} CSV file", "does not exist")
    with open(path, newline="") as fh:
        rd = csv.DictReader(fh)
        have = set(rd.fieldnames or ())
        missing = [c for c in columns if c not in have]
        if missing:
            raise InputError(f"{what} {path.name}", ",".join(sorted(have)), f"the columns {', '.join(columns)}",
                             f"misses column(s) {', '.join(missing)}")
        return list(rd)


def _int(row: dict, col: str, line: int, what: str, lo=0, hi=None, default=None) -> int:
    raw = (row.get(col) or "").strip()
    if raw == "" and default is not None:
        return default
    try:
        v = float(raw)
    except ValueError:
        raise InputError(f"{what} row {line} column {col}", raw, "a number") from None
    if not np.isfinite(v) or v != int(v):
        raise InputError(f"{what} row {line} column {col}", raw, "a whole number")
    v = int(v)
    if v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise InputError(f"{what} row {line} column {col}", v, f"a value {rng}",
                         "is negative" if v < 0 else "is out of range")
    return v


def load_openb(path, nodes=None, name: str | None = None) -> Trace:
    """Read an openb-format trace.

    Parameters
    ----------
    path : str or Path
        A pod list CSV (``openb_pod_list_*.csv``) or a folder holding
        ``openb_pod_list_default.csv`` and ``openb_node_list_gpu_node.csv``.
    nodes : str or Path, optional
        The node list CSV; default ``openb_node_list_gpu_node.csv`` beside the pod list.
    name : str, optional
        Trace name (default: the pod file's stem).

    Returns
    -------
    Trace

    Raises
    ------
    InputError
        Naming the file, row and column: a missing column, a negative or non-numeric
        request, a fraction above 1000 milli-GPU, a fraction on a multi-GPU pod, a GPU model a
        pod asks for that no node has, a node with more than 8 GPUs.
    """
    path = Path(path)
    if path.is_dir():
        pods_path = path / "openb_pod_list_default.csv"
        nodes_path = Path(nodes) if nodes else path / "openb_node_list_gpu_node.csv"
    else:
        pods_path = path
        nodes_path = Path(nodes) if nodes else path.parent / "openb_node_list_gpu_node.csv"
    nrows = _read_csv(nodes_path, NODE_COLUMNS, "node list")
    prows = _read_csv(pods_path, POD_COLUMNS, "pod list")
    if not nrows:
        raise InputError("node list", str(nodes_path), "at least one node", "is empty")
    nn = len(nrows)
    node_cpu = np.empty(nn, np.int64); node_mem = np.empty(nn, np.int64); node_g = np.empty(nn, np.int64)
    node_model = []
    for i, r in enumerate(nrows, start=2):
        node_cpu[i - 2] = _int(r, "cpu_milli", i, "node list")
        node_mem[i - 2] = _int(r, "memory_mib", i, "node list")
        node_g[i - 2] = _int(r, "gpu", i, "node list", hi=8)
        m = (r.get("model") or "").strip()
        if m.lower() == "nan":
            m = ""
        if node_g[i - 2] > 0 and not m:
            raise InputError(f"node list row {i} column model", m, "a GPU model name for a node with GPUs", "is empty")
        node_model.append(m if node_g[i - 2] > 0 else "")
    models = set(node_model) - {""}
    np_ = len(prows)
    cpu = np.empty(np_, np.int64); mem = np.empty(np_, np.int64); ng = np.empty(np_, np.int64)
    milli = np.empty(np_, np.int64); spec = []; cr = np.zeros(np_); de = np.zeros(np_)
    for j, r in enumerate(prows):
        line = j + 2
        cpu[j] = _int(r, "cpu_milli", line, "pod list")
        mem[j] = _int(r, "memory_mib", line, "pod list")
        ng[j] = _int(r, "num_gpu", line, "pod list", hi=8)
        gm = _int(r, "gpu_milli", line, "pod list", hi=MILLI, default=0)
        if ng[j] == 0:
            gm = 0
        elif ng[j] > 1:
            if gm not in (0, MILLI):
                raise InputError(f"pod list row {line} column gpu_milli", gm,
                                 "1000 (whole cards) for a pod with num_gpu > 1", "is a fraction on a multi-GPU pod")
            gm = MILLI
        elif gm == 0:
            raise InputError(f"pod list row {line} column gpu_milli", gm, "1..1000 milli-GPU for a pod with num_gpu = 1")
        milli[j] = gm
        s = (r.get("gpu_spec") or "").strip()
        if s.lower() == "nan":
            s = ""
        if s:
            asked = [x for x in s.split("|") if x]
            if not any(a in models for a in asked):
                raise InputError(f"pod list row {line} column gpu_spec", s,
                                 f"GPU model(s) among the nodes' {', '.join(sorted(models))}", "names no GPU model of the cluster")
        spec.append(s)
        cr[j] = _int(r, "creation_time", line, "pod list", default=0) if "creation_time" in r else 0
        de[j] = _int(r, "deletion_time", line, "pod list", default=-1, lo=-1) if "deletion_time" in r else -1
    return Trace(np.array([r["sn"] for r in nrows]), node_cpu, node_mem, node_g, np.array(node_model, dtype=object),
                 np.array([r["name"] for r in prows]), cpu, mem, ng, milli, np.array(spec, dtype=object), cr, de,
                 name=name or pods_path.stem)


# Published composition of the openb trace (README of cluster-trace-gpu-v2023 and Weng et al.
# 2023, Table 1 / Fig. 2): GPU nodes by model and GPUs per node, pod mix by GPU request.
OPENB_NODE_MIX = (  # (model, gpus per node, cpu milli, memory MiB, count): openb_node_list_gpu_node.csv
    ("G2", 8, 96000, 393216, 549), ("T4", 2, 104000, 524288, 387), ("P100", 2, 16000, 122880, 107),
    ("G3", 8, 128000, 786432, 39), ("V100M16", 4, 32000, 131072, 28), ("P100", 2, 64000, 262144, 22),
    ("V100M32", 8, 96000, 786432, 21), ("V100M16", 1, 8000, 32768, 19), ("T4", 4, 96000, 393216, 17),
    ("V100M32", 4, 48000, 376832, 9), ("V100M16", 8, 64000, 262144, 8), ("P100", 1, 8000, 61440, 3),
    ("A10", 1, 128000, 1048576, 2), ("P100", 2, 8000, 61440, 2))
OPENB_POD_MIX = (  # (num_gpu, share of pods)
    (0, 1088 / 8152), (1, (8152 - 1088 - 75) / 8152), (2, 16 / 8152), (4, 15 / 8152), (8, 44 / 8152))
OPENB_FRACTIONAL_SHARE = 3078 / 7064   # GPU pods that ask for part of one GPU
OPENB_MEDIAN_FRACTION = 470            # milli-GPU
#: Mean pod lifetime of the openb default trace, deletion - creation over its 8,152 pods (7.18 h;
#: the median is 0.15 h: heavy-tailed). Lifetimes are drawn exponential with this mean where a
#: trace has no times (the documented default distribution).
OPENB_MEAN_LIFETIME_S = 7.18 * 3600


def synthetic_openb(n_nodes: int = 1213, n_pods: int = 8152, seed: int = 0, name: str = "synthetic-openb",
                    load: float = 0.5) -> Trace:
    """A cluster and workload drawn with the openb trace's published composition.

    Nodes follow the trace's GPU-model mix (scaled to ``n_nodes``); pods follow its request
    mix: 13.3% CPU-only, 43.6% of GPU pods asking for a fraction of one GPU (fractions drawn
    log-uniformly on 50..950 milli, median near 470), whole-card pods with 1, 2, 4 or 8 cards;
    CPU proportional to the cards asked; lifetimes exponential with mean
    :data:`OPENB_MEAN_LIFETIME_S`, creation times Poisson at the rate that offers ``load`` of
    the cluster's GPUs on average (Little's law: rate = load x GPUs / (mean GPUs per pod x
    mean lifetime)).

    Parameters
    ----------
    n_nodes, n_pods : int
        Sizes (>= 1).
    seed : int
        Random seed (the same seed gives the same trace).
    """
    if int(n_nodes) < 1:
        raise InputError("n_nodes", n_nodes, "an integer >= 1")
    if int(n_pods) < 1:
        raise InputError("n_pods", n_pods, "an integer >= 1")
    rng = np.random.default_rng(seed)
    counts = np.array([c for *_, c in OPENB_NODE_MIX], float)
    alloc = np.floor(counts / counts.sum() * n_nodes).astype(int)
    alloc[0] += n_nodes - alloc.sum()
    rows = []
    for (model, g, c, m, _), k in zip(OPENB_NODE_MIX, alloc):
        rows += [(model, g, c, m)] * int(k)
    node_model = np.array([r[0] for r in rows], dtype=object)
    node_g = np.array([r[1] for r in rows], np.int64)
    node_cpu = np.array([r[2] for r in rows], np.int64)
    node_mem = np.array([r[3] for r in rows], np.int64)
    kinds = np.array([k for k, _ in OPENB_POD_MIX])
    p = np.array([w for _, w in OPENB_POD_MIX]); p /= p.sum()
    ng = rng.choice(kinds, size=n_pods, p=p).astype(np.int64)
    frac = (ng == 1) & (rng.random(n_pods) < OPENB_FRACTIONAL_SHARE / p[1] * (1 - p[0]))
    lo, hi = np.log(50), np.log(950)
    mid = np.log(OPENB_MEDIAN_FRACTION)
    draw = np.where(rng.random(n_pods) < 0.5, rng.uniform(lo, mid, n_pods), rng.uniform(mid, hi, n_pods))
    milli = np.where(ng == 0, 0, np.where(frac, np.round(np.exp(draw) / 10) * 10, MILLI)).astype(np.int64)
    cards = np.where(ng == 0, 1.0, ng * np.maximum(milli, 250) / MILLI)
    cpu = (np.clip(np.round(cards * rng.choice([4, 6, 8, 12], n_pods)), 1, 96) * 1000).astype(np.int64)
    mem = (cpu // 1000 * 2048).astype(np.int64)
    if not (0.0 < float(load) <= 10.0):
        raise InputError("load", load, "an offered load in (0, 10] of the cluster's GPUs")
    mean_gpus = max(float((ng * milli).mean()) / MILLI, 1e-3)
    gap = mean_gpus * OPENB_MEAN_LIFETIME_S / (float(load) * max(int(node_g.sum()), 1))
    create = np.round(np.cumsum(rng.exponential(gap, n_pods)))
    delete = create + np.maximum(np.round(rng.exponential(OPENB_MEAN_LIFETIME_S, n_pods)), 1.0)
    return Trace(np.array([f"syn-node-{i:04d}" for i in range(n_nodes)]), node_cpu, node_mem, node_g, node_model,
                 np.array([f"syn-pod-{i:05d}" for i in range(n_pods)]), cpu, mem, ng, milli,
                 np.array([""] * n_pods, dtype=object), create, delete, name=name)


def write_openb(trace: Trace, folder, pod_file: str = "openb_pod_list_default.csv",
                node_file: str = "openb_node_list_gpu_node.csv") -> tuple[Path, Path]:
    """Write a trace in the openb CSV format (node list and pod list) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    nf, pf = folder / node_file, folder / pod_file
    with open(nf, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(NODE_COLUMNS)
        for i in range(trace.n_nodes):
            w.writerow([trace.node_name[i], int(trace.node_cpu[i]), int(trace.node_mem[i]), int(trace.node_gpus[i]),
                        trace.node_model[i]])
    with open(pf, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(WRITE_POD_COLUMNS + ("qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"))
        for j in range(trace.n_pods):
            w.writerow([trace.pod_name[j], int(trace.pod_cpu[j]), int(trace.pod_mem[j]), int(trace.pod_ngpu[j]),
                        int(trace.pod_milli[j]), trace.pod_spec[j], "LS", "Running", int(trace.pod_create[j]),
                        int(trace.pod_delete[j]), int(trace.pod_create[j])])
    return nf, pf
