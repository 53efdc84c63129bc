"""Fabric builders: 2- and 3-tier fat-tree/Clos, rail-optimized, dual-plane; GSE roles.

A fabric is held as compact arrays: directed links (``src``, ``dst``, ``cap`` [bit/s],
``tier``) and index tables that give the link of each structural position, so that
routing a flow is arithmetic on integers (vectorised NumPy), not a graph search. The
networkx graph (``Fabric.graph()``) is built from the same arrays for connectivity checks
and pictures.

Structure (per plane; dual-plane has two identical planes)
----------------------------------------------------------
- endpoints: NIC ports, ``e = node * rails + rail``; each plane gives an endpoint one access
  link of ``nic_speed / planes``.
- leaves (GSP in GSE terms): ``d`` NIC-facing ports, ``u`` uplinks at ``spine_link_speed``;
  a leaf of radix k at spine speed S gives ``k_d = round(k o / (1 + o))`` ports to NICs
  (each broken out into S / nic ports) and ``u = k - k_d`` uplinks (o = oversubscription).
- 2 tiers: ``u`` spines, leaf uplink j goes to spine j (spine radix must cover all leaves).
- 3 tiers: pods of ``Lp = k/2`` leaves and ``u`` aggregation switches (leaf uplink j to
  aggregation j of its pod); aggregation j has ``v = k - Lp`` uplinks to the ``v`` cores of
  core group j; a core connects once to every pod (core radix must cover the pods).
- placement "node" (classic fat tree: a leaf holds whole nodes) or "rail" (rail-optimized:
  a leaf holds the same rail of consecutive nodes).
GSE roles: leaves are GSPs (edge: access, load balancing, reorder, DGSQ); aggregation and
core switches are GSFs (core fabric).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

def as_count(value, field: str, lo: int = 1, hi: int | None = None, what: str = "an integer") -> int:
    """``value`` as a Python int in [lo, hi], or InputError naming ``field`` (rejects bools, strings,
    NaN/inf and non-integral floats instead of truncating them)."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok and isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        ok = True
    rng = f"{what} >= {lo}" + (f" and <= {hi}" if hi is not None else "")
    if not ok:
        raise InputError(field, value, rng, "is not a whole number")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        raise InputError(field, value, rng, "is out of range")
    return v


TOPOLOGIES = ("fat-tree-2tier", "fat-tree-3tier", "rail-optimized", "dual-plane")
LINK_TIERS = ("nic->leaf", "leaf->nic", "leaf->spine", "spine->leaf", "agg->core", "core->agg")


@dataclass
class Fabric:
    """A built fabric (see module docstring). Capacities in bit/s."""

    topology: str
    tiers: int
    planes: int
    placement: str
    n_nodes: int
    rails: int
    nic_speed: float
    spine_speed: float
    radix: int
    oversubscription: float
    d: int            # NIC ports per leaf
    u: int            # uplinks per leaf
    n_leaves: int     # per plane
    leaves_per_pod: int
    pods: int
    v: int            # core uplinks per aggregation switch (3-tier), else 0
    src: np.ndarray   # link source vertex
    dst: np.ndarray   # link destination vertex
    cap: np.ndarray   # link capacity [bit/s]
    tier: np.ndarray  # index into LINK_TIERS
    a_up: np.ndarray  # (planes, E) access uplink index
    a_dn: np.ndarray  # (planes, E)
    lu: np.ndarray    # (planes, L, u) leaf -> spine/agg
    ld: np.ndarray    # (planes, L, u) spine/agg -> leaf
    au: np.ndarray    # (planes, pods, u, v) agg -> core (3-tier)
    ad: np.ndarray    # (planes, pods, u, v) core -> agg
    vertex_role: np.ndarray = field(repr=False)  # 0 endpoint, 1 leaf, 2 spine/agg, 3 core
    vertex_plane: np.ndarray = field(repr=False)

    @property
    def n_endpoints(self) -> int:
        return self.n_nodes * self.rails

    @property
    def n_links(self) -> int:
        return len(self.cap)

    def leaf_of(self, e):
        """Leaf index (within a plane) of endpoint(s) ``e``."""
        e = np.asarray(e, dtype=np.int64)
        if self.placement == "rail":
            node, rail = e // self.rails, e % self.rails
            pos = rail * self.n_nodes + node
        else:
            pos = e
        return pos // self.d

    def pod_of_leaf(self, leaf):
        return np.asarray(leaf) // self.leaves_per_pod

    def n_switches(self) -> dict:
        per_plane_mid = self.u * (self.pods if self.tiers == 3 else 1)
        per_plane_core = self.u * self.v if self.tiers == 3 else 0
        return {"leaf": self.n_leaves * self.planes, "spine" if self.tiers == 2 else "aggregation": per_plane_mid * self.planes,
                "core": per_plane_core * self.planes}

    def gse_roles(self) -> dict:
        """GSE roles: GSP (edge) = leaves; GSF (core fabric) = spine/aggregation/core switches."""
        s = self.n_switches()
        return {"GSP": s["leaf"], "GSF": sum(v for k, v in s.items() if k != "leaf")}

    def graph(self):
        """networkx MultiDiGraph of the fabric (vertices carry role and plane)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        roles = ("endpoint", "leaf", "spine" if self.tiers == 2 else "aggregation", "core")
        for i, (r, p) in enumerate(zip(self.vertex_role, self.vertex_plane)):
            g.add_node(i, role=roles[r], gse="compute" if r == 0 else ("GSP" if r == 1 else "GSF"), plane=int(p))
        for k in range(self.n_links):
            g.add_edge(int(self.src[k]), int(self.dst[k]), key=k, capacity=float(self.cap[k]), tier=LINK_TIERS[self.tier[k]])
        return g


def build_fabric(n_nodes: int, rails: int, nic_speed: float, spine_speed: float, radix: int,
                 oversubscription: float = 1.0, topology: str = "fat-tree-2tier",
                 switch_capacity: float | None = None, check_connected: bool | None = None) -> Fabric:
    """Build a fabric's link arrays (speeds in bit/s).

    Raises
    ------
    InputError
        ``fabric.topology`` unknown; ``fabric.radix`` too small for the size (or above the
        switch chip's capacity); ``fabric.oversubscription`` leaving no uplink
        (disconnected fabric); ``compute.nodes`` / ``fabric.nics_per_node`` not positive.
    """
    if topology not in TOPOLOGIES:
        raise InputError("fabric.topology", topology, "one of " + ", ".join(TOPOLOGIES), "is not a known topology")
    n_nodes = as_count(n_nodes, "compute.nodes", 1, what="a number of nodes")
    rails = as_count(rails, "fabric.nics_per_node", 1, what="a number of NICs per node")
    if not (0 < nic_speed < math.inf):
        raise InputError("fabric.nic_speed", nic_speed, "a positive, finite data rate")
    if not (0 < spine_speed < math.inf):
        raise InputError("fabric.spine_link_speed", spine_speed, "a positive, finite data rate")
    k = as_count(radix, "fabric.radix", 2, what="a port count")
    if not (1.0 <= oversubscription < math.inf):
        raise InputError("fabric.oversubscription", oversubscription, "a finite ratio >= 1")
    if switch_capacity is not None and k * spine_speed > switch_capacity * (1 + 1e-9):
        raise InputError("fabric.radix", radix, f"at most {int(switch_capacity // spine_speed)} ports at "
                         f"{spine_speed / 1e9:g} Gbit/s for a {switch_capacity / 1e12:g} Tbit/s switch",
                         "exceeds the switch capacity")
    n_nodes, rails = int(n_nodes), int(rails)
    planes = 2 if topology == "dual-plane" else 1
    placement = "rail" if topology == "rail-optimized" else "node"
    port = nic_speed / planes  # access link per plane
    kd = int(round(k * oversubscription / (1.0 + oversubscription)))
    u = k - kd
    if u < 1:
        raise InputError("fabric.oversubscription", oversubscription,
                         f"a ratio that leaves each leaf at least one uplink (radix {k})", "disconnects the leaves")
    breakout = max(1, int(round(spine_speed / port))) if spine_speed >= port else 1
    d = kd * breakout if spine_speed >= port else int(kd * spine_speed // port)
    if d < 1:
        raise InputError("fabric.radix", radix, "enough leaf ports for one NIC", "is too small")
    E = n_nodes * rails
    L = math.ceil(E / d)
    if topology == "fat-tree-2tier" or (topology in ("rail-optimized", "dual-plane") and L <= k):
        tiers = 2
    else:
        tiers = 3
    if tiers == 2 and L > k:
        raise InputError("fabric.radix", radix, f"a radix of at least {L} for {E} NIC ports in 2 tiers "
                         f"(or topology 'fat-tree-3tier'); 2 tiers of radix {k} serve at most {k * d}",
                         "cannot build the size")
    if tiers == 3:
        Lp = max(1, min(k // 2, L))
        v = Lp  # aggregation switches non-blocking: as many core uplinks as leaf downlinks
        pods = math.ceil(L / Lp)
        if pods > k:
            raise InputError("fabric.radix", radix, f"a radix that serves {E} NIC ports in 3 tiers "
                             f"(radix {k} serves at most {k * (k // 2) * d})", "cannot build the size")
    else:
        Lp, v, pods = L, 0, 1
    # ---- vertices
    n_mid = u * (pods if tiers == 3 else 1)
    n_core = u * v if tiers == 3 else 0
    per_plane_sw = L + n_mid + n_core
    roles = [np.zeros(E, np.int64)]
    vplane = [np.full(E, -1, np.int64)]
    leaf0 = np.empty(planes, np.int64)
    mid0 = np.empty(planes, np.int64)
    core0 = np.empty(planes, np.int64)
    base = E
    for p in range(planes):
        leaf0[p], mid0[p], core0[p] = base, base + L, base + L + n_mid
        roles += [np.full(L, 1), np.full(n_mid, 2), np.full(n_core, 3)]
        vplane.append(np.full(per_plane_sw, p))
        base += per_plane_sw
    vertex_role = np.concatenate(roles).astype(np.int64)
    vertex_plane = np.concatenate(vplane).astype(np.int64)
    # ---- links
    srcs, dsts, caps, tiers_l = [], [], [], []
    nl = 0

    def add(s, t, c, tr):
        nonlocal nl
        s = np.asarray(s, np.int64).ravel()
        t = np.asarray(t, np.int64).ravel()
        srcs.append(s)
        dsts.append(t)
        caps.append(np.full(s.size, float(c)))
        tiers_l.append(np.full(s.size, tr, np.int64))
        idx = np.arange(nl, nl + s.size)
        nl += s.size
        return idx

    e = np.arange(E)
    a_up = np.empty((planes, E), np.int64)
    a_dn = np.empty((planes, E), np.int64)
    lu = np.empty((planes, L, u), np.int64)
    ld = np.empty((planes, L, u), np.int64)
    au = np.empty((planes, pods, u, max(v, 1)), np.int64) if tiers == 3 else np.zeros((planes, 1, u, 1), np.int64)
    ad = np.empty_like(au)
    if placement == "rail":
        pos = (e % rails) * n_nodes + e // rails
    else:
        pos = e
    leaf_e = pos // d
    for p in range(planes):
        a_up[p] = add(e, leaf0[p] + leaf_e, port, 0)
        a_dn[p] = add(leaf0[p] + leaf_e, e, port, 1)
        leaves = np.repeat(np.arange(L), u)
        js = np.tile(np.arange(u), L)
        if tiers == 2:
            mid = mid0[p] + js
        else:
            mid = mid0[p] + (leaves // Lp) * u + js
        lu[p] = add(leaf0[p] + leaves, mid, spine_speed, 2).reshape(L, u)
        ld[p] = add(mid, leaf0[p] + leaves, spine_speed, 3).reshape(L, u)
        if tiers == 3:
            pp = np.repeat(np.arange(pods), u * v)
            jj = np.tile(np.repeat(np.arange(u), v), pods)
            mm = np.tile(np.arange(v), pods * u)
            agg = mid0[p] + pp * u + jj
            core = core0[p] + jj * v + mm
            au[p] = add(agg, core, spine_speed, 4).reshape(pods, u, v)
            ad[p] = add(core, agg, spine_speed, 5).reshape(pods, u, v)
    fab = Fabric(topology=topology, tiers=tiers, planes=planes, placement=placement, n_nodes=n_nodes, rails=rails,
                 nic_speed=float(nic_speed), spine_speed=float(spine_speed), radix=k,
                 oversubscription=float(oversubscription), d=d, u=u, n_leaves=L, leaves_per_pod=Lp, pods=pods, v=v,
                 src=np.concatenate(srcs), dst=np.concatenate(dsts), cap=np.concatenate(caps),
                 tier=np.concatenate(tiers_l), a_up=a_up, a_dn=a_dn, lu=lu, ld=ld, au=au, ad=ad,
                 vertex_role=vertex_role, vertex_plane=vertex_plane)
    if check_connected is None:
        check_connected = fab.n_links <= 200_000
    if check_connected:
        check_connectivity(fab)
    return fab


def check_connectivity(fab: Fabric, failed=None) -> None:
    """Raise InputError('fabric.topology') if some endpoint cannot reach another (networkx)."""
    import networkx as nx

    keep = np.ones(fab.n_links, bool)
    if failed is not None:
        keep[np.asarray(failed, np.int64)] = False
    g = nx.Graph()
    g.add_nodes_from(range(fab.n_endpoints))
    g.add_edges_from(zip(fab.src[keep].tolist(), fab.dst[keep].tolist()))
    comps = [c for c in nx.connected_components(g) if any(x < fab.n_endpoints for x in c)]
    if len(comps) > 1:
        raise InputError("fabric.topology", fab.topology,
                         "a connected fabric", f"is disconnected ({len(comps)} separate parts hold NIC ports)")


# ---------------------------------------------------------------------------------------------
# Paths


def _classes(fab: Fabric, s, t):
    ls, lt = fab.leaf_of(s), fab.leaf_of(t)
    same_leaf = ls == lt
    same_pod = (fab.pod_of_leaf(ls) == fab.pod_of_leaf(lt)) & ~same_leaf
    if fab.tiers == 2:
        same_pod = ~same_leaf
    cross = ~(same_leaf | same_pod)
    return ls, lt, same_leaf, same_pod, cross


def n_paths(fab: Fabric, s, t) -> np.ndarray:
    """Number of equal-cost shortest paths between endpoints (all planes)."""
    _, _, sl, sp, cr = _classes(fab, s, t)
    per = np.where(sl, 1, np.where(sp, fab.u, fab.u * max(fab.v, 1)))
    return (per * fab.planes).astype(np.int64)


def _endpoint_array(a, field: str) -> np.ndarray:
    try:
        x = np.asarray(a).ravel()
    except Exception as exc:  # ragged input etc.
        raise InputError(field, a, "an array of endpoint indices") from exc
    if x.dtype.kind in "iu":
        return x.astype(np.int64)
    if x.dtype.kind == "f" and (x.size == 0 or (np.all(np.isfinite(x)) and np.all(x == np.round(x)))):
        return x.astype(np.int64)
    if x.size == 0:
        return x.astype(np.int64)
    raise InputError(field, x[:3].tolist(), "integer endpoint indices (node x nics_per_node + rail)",
                     "are not whole numbers")


def check_flows(fab: Fabric, src, dst, field_prefix: str = "traffic") -> tuple[np.ndarray, np.ndarray]:
    src, dst = _endpoint_array(src, f"{field_prefix}.src"), _endpoint_array(dst, f"{field_prefix}.dst")
    if src.size == 0:
        raise InputError(f"{field_prefix}.src", "[]", "at least one flow")
    if src.shape != dst.shape:
        raise InputError(f"{field_prefix}.dst", dst.shape, f"as many destinations as sources ({src.shape})")
    E = fab.n_endpoints
    for name, a in (("src", src), ("dst", dst)):
        bad = (a < 0) | (a >= E)
        if bad.any():
            raise InputError(f"{field_prefix}.{name}", int(a[bad][0]), f"an endpoint index in 0..{E - 1}",
                             "is not in the fabric (unroutable flow)")
    same = src == dst
    if same.any():
        raise InputError(f"{field_prefix}.dst", int(dst[same][0]), "an endpoint other than the source",
                         "equals the source (unroutable flow)")
    return src, dst


def path_links(fab: Fabric, s, t, pid) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr, links) of the paths ``pid`` (0 <= pid < n_paths) of flows s -> t."""
    s = np.asarray(s, np.int64)
    t = np.asarray(t, np.int64)
    pid = np.asarray(pid, np.int64)
    ls, lt, sl, sp, cr = _classes(fab, s, t)
    per = np.where(sl, 1, np.where(sp, fab.u, fab.u * max(fab.v, 1)))
    plane = pid // per
    r = pid % per
    j = r % fab.u
    m = r // fab.u
    n = len(s)
    lens = np.where(sl, 2, np.where(sp, 4, 6))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=ptr[1:])
    links = np.empty(ptr[-1], np.int64)
    first = ptr[:-1]
    last = ptr[1:] - 1
    links[first] = fab.a_up[plane, s]
    links[last] = fab.a_dn[plane, t]
    i = np.flatnonzero(~sl)
    links[first[i] + 1] = fab.lu[plane[i], ls[i], j[i]]
    links[last[i] - 1] = fab.ld[plane[i], lt[i], j[i]]
    i = np.flatnonzero(cr)
    if i.size:
        ps, pt = fab.pod_of_leaf(ls[i]), fab.pod_of_leaf(lt[i])
        links[first[i] + 2] = fab.au[plane[i], ps, j[i], m[i]]
        links[last[i] - 2] = fab.ad[plane[i], pt, j[i], m[i]]
    return ptr, links


def spray_weights(fab: Fabric, s, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (ptr, links, weights): each flow split evenly over all its equal-cost paths.

    Filled by the numba kernel ``spray_incidence`` (per plane access up/down, leaf up/down,
    aggregation-core up/down); the vectorised NumPy version is
    :func:`twin.fabric._reference.spray_weights`.
    """
    from . import _kernels as K

    s = np.asarray(s, np.int64)
    t = np.asarray(t, np.int64)
    ls, lt, sl, sp, cr = _classes(fab, s, t)
    P, u, v = fab.planes, fab.u, max(fab.v, 1)
    lens = np.where(sl, 2 * P, np.where(sp, (2 + 2 * u) * P, (2 + 2 * u + 2 * u * v) * P))
    ptr = np.zeros(len(s) + 1, np.int64)
    np.cumsum(lens, out=ptr[1:])
    L = np.empty(ptr[-1], np.int64)
    W = np.empty(ptr[-1])
    cls = np.where(sl, 0, np.where(sp, 1, 2)).astype(np.int64)
    K.spray_incidence(cls, s, t, ls.astype(np.int64), lt.astype(np.int64),
                      fab.pod_of_leaf(ls).astype(np.int64), fab.pod_of_leaf(lt).astype(np.int64),
                      fab.a_up, fab.a_dn, fab.lu, fab.ld, fab.au, fab.ad, ptr, L, W)
    return ptr, L, W
