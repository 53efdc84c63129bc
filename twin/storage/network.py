"""Storage traffic on the fabric (white paper 5.2): checkpoint bursts and data-loader reads as flows.

The storage domain places its own flows on a fabric built by :mod:`twin.fabric`'s public
functions and solves their rates with the fabric's max-min solver; the fabric never imports
storage. Two networks:

- ``storage.network = "parameter"``: the storage servers hang off the training (parameter)
  fabric of the scenario (same topology, NICs, load balancing, placement); storage flows
  share links with the training collectives, so a checkpoint burst takes bandwidth from them.
- ``storage.network = "separate"``: a front-end / storage fabric of its own, a two-tier fat tree
  (three tiers when two cannot hold it) of ``storage.storage_nics_per_node`` ports at
  ``storage.storage_nic_speed`` per node and per storage server, non-blocking; it takes nothing
  from the collectives.

Every node and every storage server uses all its ports on that network (one flow per port pair,
rail r of a node to rail r of its server: GPUDirect-Storage style, each GPU's shard over the
NIC next to it). Node ``i`` talks to server ``i mod k`` (the fabric's ``storage`` pattern); the
servers are dedicated endpoints, never job nodes.
Rates are in bit/s on the wire; payload is :data:`twin.storage.model.NETWORK_EFFICIENCY` of
the max-min line rate (calibrated on 3FS, see the model).
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from ..units import magnitude
from . import model as M

@functools.lru_cache(maxsize=16)
def _separate_fabric(n_endpoints: int, ports: int, nic_bps: float, radix: int):
    from ..fabric import build_fabric

    try:
        return build_fabric(n_endpoints, ports, f"{nic_bps / 1e9} Gbit/s", radix=radix, topology="fat-tree-2tier")
    except InputError:  # two tiers of this radix cannot hold it: three
        return build_fabric(n_endpoints, ports, f"{nic_bps / 1e9} Gbit/s", radix=radix, topology="fat-tree-3tier")


def storage_fabric_of(n_endpoints: int, ports: int, nic_speed, radix: int = 64):
    """A separate storage network: ``n_endpoints`` nodes of ``ports`` NIC ports at ``nic_speed``
    [Gbit/s] on a non-blocking fat tree of ``radix`` (two tiers, three when two cannot hold it)."""
    p = int(ports)
    if p < 1:
        raise InputError("storage.storage_nics_per_node", ports, ">= 1 storage NIC port per node",
                         "leaves the nodes without a storage network")
    nic = magnitude(nic_speed, "bit/s", "storage.storage_nic_speed")
    if not (nic > 0 and np.isfinite(nic)):
        raise InputError("storage.storage_nic_speed", nic_speed, "a positive line rate such as '200 Gbit/s'",
                         "cannot carry storage traffic")
    return _separate_fabric(int(n_endpoints), p, float(nic), int(radix))


def _parameter_fabric(sc, n_endpoints: int):
    from ..fabric import build_fabric, fabric_from_scenario

    try:
        return fabric_from_scenario(sc, n_endpoints)
    except InputError:  # the scenario's topology has no room for the servers: its three-tier sibling
        f = sc.fabric
        return build_fabric(n_endpoints, int(f.nics_per_node), f.nic_speed, f.spine_link_speed, int(f.radix),
                            float(f.oversubscription), "fat-tree-3tier", str(f.switch))


def storage_fabric(sc, nodes: int, servers: int):
    """The fabric that carries the storage traffic of ``nodes`` compute nodes and ``servers`` storage
    servers (the job's nodes first, the servers last), and the network's name."""
    net = str(sc.storage.network)
    n_end = int(nodes) + int(servers)
    if net == "separate":
        return storage_fabric_of(n_end, sc.storage.storage_nics_per_node, sc.storage.storage_nic_speed,
                                 int(sc.fabric.radix)), net
    return _parameter_fabric(sc, n_end), net


def job_and_servers(fab, nodes: int, servers: int, placement: str):
    """The job's nodes (in the order the fabric places them: :func:`twin.fabric.traffic`'s ring)
    and the storage servers: the ``servers`` endpoints of the fabric the job does not occupy."""
    from ..fabric import traffic

    n, k = int(nodes), int(servers)
    if n >= 2:
        a, _ = traffic(fab, "ring", n, placement=placement)
        job = a[::fab.rails] // fab.rails
    else:
        job = np.zeros(1, np.int64)
    free = np.setdiff1d(np.arange(fab.n_nodes), job)
    return job, free[-k:]


def storage_flows(fab, nodes: int, servers: int, placement: str):
    """(server port, node port) pairs of the storage traffic: the fabric's ``storage`` pattern
    (node i <-> server i mod k) on every rail (rail r of the node <-> rail r of its server).

    Unlike :func:`twin.fabric.traffic`'s pattern, whose servers may be job nodes (storage
    converged into the compute nodes), the servers here are dedicated endpoints: with a
    scattered placement the job lands on a seeded random set of the fabric and the servers take
    the endpoints it leaves free.
    """
    job, srv = job_and_servers(fab, nodes, servers, placement)
    R = fab.rails
    r = np.arange(R)
    a = srv[np.arange(len(job)) % len(srv)] * R
    b = job * R
    return (a[:, None] + r).ravel(), (b[:, None] + r).ravel()


def read_capacity(fab, nodes: int, servers: int, load_balancing: str = "ecmp", flows_per_pair: int = 1,
                  placement: str = "contiguous"):
    """Payload read rate [B/s] each job node gets from the storage servers when all read at once.

    Returns (per-node rates [B/s], server ports, node ports, routing): max-min line rates of the
    storage flows summed per node, times the storage RDMA efficiency.
    """
    from ..fabric import route, solve

    srv, node = storage_flows(fab, nodes, servers, placement)
    rd = route(fab, srv, node, load_balancing, flows_per_pair, 0)
    rate = solve(fab, rd).rate
    _, inv = np.unique(node // fab.rails, return_inverse=True)
    per_node = np.bincount(inv, weights=rate) * M.NETWORK_EFFICIENCY / 8.0
    return per_node, srv, node, rd


def traffic_on_fabric(sc, *, nodes: int, servers: int, checkpoint_bytes: float, host_rate_node: float,
                      read_demand_node: float, sys_write: float, sys_read: float, fabric_comm_time: float = 0.0,
                      step_time: float = 0.0) -> dict:
    """Storage flows of a job on its storage network, solved max-min on the fabric.

    Parameters
    ----------
    sc : Scenario
    nodes : compute nodes of the job; servers : storage servers (hot tier) on the network
    checkpoint_bytes : one checkpoint [B], written in equal shards by every node
    host_rate_node : GPU -> host rate of one node [B/s] (a node's writes cannot exceed it)
    read_demand_node : mean data-loader read rate of one node [B/s]
    sys_write, sys_read : storage system write / read rate [B/s]
    fabric_comm_time : training time per step on the scale-out fabric [s] (DP incl. the
        overlapped part, PP, EP, CP); step_time : the training step [s]

    Returns
    -------
    dict (SI floats)
        ``t_network`` checkpoint time on the network alone [s], ``node_nic_bw`` a node's storage
        ports at line rate x eta [B/s], ``write_bw`` its rate [B/s],
        ``read_capacity`` the network's read rate to the job [B/s], ``node_read_bw`` the slowest
        node's share [B/s], ``read_delivered`` [B/s], ``burst_share`` / ``read_share`` the share of
        the collective bandwidth a checkpoint burst / the reads take [1], ``burst_slowdown`` /
        ``read_slowdown`` the training step's relative rise [1], ``network``, ``flows``.

    Notes
    -----
    Write: each node moves S / n split over its ports; the fabric's event-driven max-min
    completion (:func:`twin.fabric.transfer_times`) gives the last shard's finish t_f, so
    t_network = t_f / eta with eta the storage RDMA efficiency. Reads: max-min rates r_f with
    each flow capped at d_f = min(D_node / ports, B_sys / F) / eta (demand and the storage system's
    fair share), delivered = eta sum r_f <= min(sum D, B_sys, NIC capacity). On the shared
    (parameter) network the training ring (the inter-node hop of the DP all-reduce) and the storage
    flows are solved together; a bulk-synchronous collective runs at its slowest flow, so the
    share taken is s = 1 - min r_ring(with storage) / min r_ring(alone), and the step's fabric time
    T_f grows to T_f / (1 - s): slowdown = T_f s / ((1 - s) T_step).

    References
    ----------
    D. Bertsekas, R. Gallager, *Data Networks*, sec. 6.5.2 (max-min fairness); NVIDIA GPUDirect
    Storage design guide (per-GPU NIC paths); DeepSeek 3FS (storage on the training fabric).
    """
    from ..fabric import route, solve, traffic, transfer_times

    n, k = int(nodes), int(servers)
    if n < 1:
        raise InputError("compute.nodes", nodes, "an integer >= 1")
    if k < 1:
        raise InputError("storage_servers", servers, "an integer >= 1 (storage server nodes on the network)",
                         "leaves the storage system without a server")
    for name, v in (("checkpoint_bytes", checkpoint_bytes), ("host_rate_node", host_rate_node),
                    ("storage.system_write_bandwidth", sys_write), ("storage.system_read_bandwidth", sys_read)):
        if not (v > 0 and np.isfinite(v)):
            raise InputError(name, v, "a positive, finite number")
    if not (read_demand_node >= 0 and np.isfinite(read_demand_node)):
        raise InputError("read_demand_node", read_demand_node, "a rate >= 0 [B/s]")
    eta = M.NETWORK_EFFICIENCY
    fab, net = storage_fabric(sc, n, k)
    f = sc.fabric
    lb = str(f.load_balancing) if net == "parameter" else "ecmp"
    q = int(f.flows_per_pair) if net == "parameter" else 1
    placement = str(f.placement)
    per_node, srv, node, rd = read_capacity(fab, n, k, lb, q, placement)
    out = {"network": net, "flows": int(len(srv)), "servers": k, "node_nic_bw": fab.rails * fab.nic_speed * eta / 8.0,
           "burst_share": 0.0, "read_share": 0.0, "burst_slowdown": 0.0, "read_slowdown": 0.0}
    R = fab.rails
    # ---- checkpoint write burst: node -> server, S / n per node over its ports
    wr = route(fab, node, srv, lb, q, 0)
    shard_bits = 8.0 * checkpoint_bytes / n / R
    t_f = float(transfer_times(fab, wr, shard_bits).max())
    out["t_network"] = t_f / eta
    out["write_bw"] = checkpoint_bytes / out["t_network"]
    # ---- data-loader reads: server -> node
    out["read_capacity"] = float(per_node.sum())
    out["node_read_bw"] = float(per_node.min())
    F = len(srv)
    if read_demand_node > 0:
        d = min(read_demand_node / R, sys_read / F) * 8.0 / eta
        got = solve(fab, rd, np.full(F, d))
        out["read_delivered"] = float(got.rate.sum()) * eta / 8.0
    else:
        out["read_delivered"] = 0.0
    # ---- the shared network: what storage takes from the training collectives
    if net == "parameter" and n >= 2 and fabric_comm_time > 0 and step_time > 0:
        a, b = traffic(fab, "ring", n, placement=placement)  # the same job nodes as the storage flows
        ring_alone = route(fab, a, b, lb, q, 0)
        base = float(solve(fab, ring_alone).rate.min())
        # each storage flow at most what its node sends and the storage system accepts (its fair share)
        w_dem = min(host_rate_node / R, sys_write / F) * 8.0 / eta
        r_dem = min(read_demand_node / R, sys_read / F) * 8.0 / eta
        shares = {}
        for key, s_src, s_dst, dem in (("burst", node, srv, w_dem), ("read", srv, node, r_dem)):
            if not dem > 0:
                shares[key] = 0.0
                continue
            both = route(fab, np.concatenate([a, s_src]), np.concatenate([b, s_dst]), lb, q, 0)
            demand = np.concatenate([np.full(len(a), np.inf), np.full(len(s_src), dem)])
            rate = solve(fab, both, demand).rate
            shares[key] = float(min(max(1.0 - rate[:len(a)].min() / base, 0.0), 0.999))
        for key in ("burst", "read"):
            s = shares[key]
            out[f"{key}_share"] = s
            out[f"{key}_slowdown"] = fabric_comm_time * s / (1.0 - s) / step_time
    return out
