"""Max-min solver invariants (hypothesis), kernel vs reference, traffic and bad input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.errors import InputError
from twin.fabric import _kernels as K
from twin.fabric import _reference as R
from twin.fabric.routing import route, solve, traffic, transfer_times
from twin.fabric.topology import build_fabric

FABRICS = {
    "2tier": build_fabric(16, 2, 100e9, 100e9, 8, 1.0, "fat-tree-2tier"),
    "2tier-over3": build_fabric(16, 2, 100e9, 100e9, 8, 3.0, "fat-tree-2tier"),
    "3tier": build_fabric(16, 4, 100e9, 200e9, 8, 1.0, "fat-tree-3tier"),
    "rail": build_fabric(12, 4, 100e9, 100e9, 8, 1.0, "rail-optimized"),
    "dual": build_fabric(12, 2, 200e9, 100e9, 8, 1.0, "dual-plane"),
}


def _flows(fab, draw_seed, n):
    rng = np.random.default_rng(draw_seed)
    s = rng.integers(0, fab.n_endpoints, n)
    t = (s + rng.integers(1, fab.n_endpoints, n)) % fab.n_endpoints
    return s, t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(name=st.sampled_from(sorted(FABRICS)), lb=st.sampled_from(["ecmp", "spraying", "gse", "adaptive"]),
       q=st.integers(1, 4), n=st.integers(1, 120), seed=st.integers(0, 10_000), capped=st.booleans())
def test_maxmin_invariants(name, lb, q, n, seed, capped):
    fab = FABRICS[name]
    s, t = _flows(fab, seed, n)
    rt = route(fab, s, t, lb, q, seed)
    demand = np.random.default_rng(seed).uniform(1e9, 3e11, n) if capped else None
    sol = solve(fab, rt, demand=demand)
    assert np.all(np.isfinite(sol.rate)) and np.all(sol.rate > 0)
    assert np.all(sol.var_rate > 0)
    # no link above its capacity
    assert np.all(sol.link_load <= fab.cap * (1 + 1e-9))
    if capped:
        assert np.all(sol.rate <= demand * (1 + 1e-9))
    # max-min optimality: every variable is at its demand, or crosses a saturated link on
    # which no variable has a larger rate (its bottleneck); that link's load equals capacity
    nv = len(rt.var_ptr) - 1
    per_var = np.bincount(rt.var_flow, minlength=rt.n_flows)
    dem = (demand / per_var)[rt.var_flow] if capped else np.full(nv, np.inf)
    link_max = np.zeros(fab.n_links)
    for v in range(nv):
        lk = rt.var_link[rt.var_ptr[v]:rt.var_ptr[v + 1]]
        np.maximum.at(link_max, lk, sol.var_rate[v])
    sat = sol.link_load >= fab.cap * (1 - 1e-7)
    for v in range(nv):
        if sol.var_rate[v] >= dem[v] * (1 - 1e-9):
            continue
        lk = rt.var_link[rt.var_ptr[v]:rt.var_ptr[v + 1]]
        ok = sat[lk] & (sol.var_rate[v] >= link_max[lk] * (1 - 1e-7))
        assert ok.any(), f"variable {v} has no bottleneck"
        assert np.allclose(sol.link_load[lk[ok]], fab.cap[lk[ok]], rtol=1e-7)
    # the NumPy reference agrees
    ref = R.solve(fab, rt, demand=demand)
    assert np.allclose(ref.rate, sol.rate, rtol=1e-7)


@settings(max_examples=20, deadline=None, database=None)
@given(name=st.sampled_from(sorted(FABRICS)), lb=st.sampled_from(["ecmp", "spraying", "adaptive"]),
       n=st.integers(1, 40), seed=st.integers(0, 1000))
def test_transfer_completion_matches_reference(name, lb, n, seed):
    fab = FABRICS[name]
    s, t = _flows(fab, seed, n)
    rt = route(fab, s, t, lb, 2, seed)
    size = np.random.default_rng(seed).uniform(1e6, 1e9, n)
    fin = transfer_times(fab, rt, size, batch=0.0)
    ref = R.transfer_times(fab, rt, size, batch=0.0)
    assert np.all(fin > 0) and np.all(np.isfinite(fin))
    assert np.allclose(fin, ref, rtol=1e-7)
    fb = transfer_times(fab, rt, size, batch=0.25)
    assert np.allclose(fb, R.transfer_times(fab, rt, size, batch=0.25), rtol=1e-7)
    assert fb.max() >= fin.max() * (1 - 1e-9) or np.isclose(fb.max(), fin.max(), rtol=0.5)
    # nobody finishes faster than at its access-link rate
    assert np.all(fin >= size / (fab.nic_speed) * (1 - 1e-9))


def test_ecmp_hash_matches_reference_and_is_seeded():
    rng = np.random.default_rng(0)
    s, d, q = (rng.integers(0, 1 << 20, 500) for _ in range(3))
    n = rng.integers(1, 300, 500)
    out = np.empty(500, np.int64)
    K.ecmp_hash(s, d, q, 17, n, out)
    assert np.array_equal(out, R.ecmp_hash(s, d, q, 17, n))
    assert np.all((out >= 0) & (out < n))
    out2 = np.empty(500, np.int64)
    K.ecmp_hash(s, d, q, 18, n, out2)
    assert not np.array_equal(out, out2)


def test_spraying_beats_ecmp_on_permutation():
    fab = build_fabric(64, 1, 100e9, 100e9, 16, 1.0, "fat-tree-2tier")
    s, t = traffic(fab, "permutation", 64, seed=3)
    e = solve(fab, route(fab, s, t, "ecmp", 1, 3)).rate
    p = solve(fab, route(fab, s, t, "spraying")).rate
    assert p.min() >= e.min() * (1 - 1e-9)
    assert p.sum() >= e.sum() * (1 - 1e-9)
    assert np.allclose(p, 100e9)  # non-blocking fabric, perfect spreading: line rate


def test_traffic_patterns_shapes():
    fab = FABRICS["rail"]
    for pat, nflows in (("ring", 8 * 4), ("incast", 7 * 4), ("permutation", 8 * 4), ("all-to-all", 8 * 7 * 4)):
        s, t = traffic(fab, pat, 8)
        assert len(s) == nflows and np.all(s != t)
        assert np.all(s % 4 == t % 4)  # rail-matched
    s, t = traffic(fab, "storage", 8, storage_nodes=2)
    assert np.all(s // 4 >= 10)


def test_unroutable_flows_name_the_field():
    fab = FABRICS["2tier"]
    with pytest.raises(InputError) as e:
        route(fab, [0], [0])
    assert e.value.field == "traffic.dst"
    with pytest.raises(InputError) as e:
        route(fab, [0], [fab.n_endpoints])
    assert e.value.field == "traffic.dst"
    with pytest.raises(InputError) as e:
        route(fab, [-1], [3])
    assert e.value.field == "traffic.src"
    with pytest.raises(InputError) as e:
        route(fab, [0], [1], "random")
    assert e.value.field == "fabric.load_balancing"
    with pytest.raises(InputError) as e:
        route(fab, [0], [1], "ecmp", 0)
    assert e.value.field == "fabric.flows_per_pair"
    with pytest.raises(InputError) as e:
        traffic(fab, "ring", 1)
    assert e.value.field == "job.nodes"


@pytest.mark.parametrize("name", ["3tier", "dual", "rail"])
def test_adaptive_route_matches_reference(name):
    from twin.fabric.topology import _classes

    fab = FABRICS[name]
    s, t = _flows(fab, 5, 200)
    ls, lt, sl, sp, cr = _classes(fab, s, t)
    cls = np.where(sl, 0, np.where(sp, 1, 2)).astype(np.int64)
    ps, pt = fab.pod_of_leaf(ls).astype(np.int64), fab.pod_of_leaf(lt).astype(np.int64)
    out = [np.empty(200, np.int64) for _ in range(3)]
    K.adaptive_route(cls, s, t, ls.astype(np.int64), lt.astype(np.int64), ps, pt, fab.a_up, fab.a_dn, fab.lu, fab.ld,
                     fab.au, fab.ad, fab.n_links, *out)
    ref = R.adaptive_route(cls, s, t, ls, lt, ps, pt, fab.a_up, fab.a_dn, fab.lu, fab.ld, fab.au, fab.ad, fab.n_links)
    for a, b in zip(out, ref):
        assert np.array_equal(a, b)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(topology=st.sampled_from(["fat-tree-2tier", "fat-tree-3tier", "rail-optimized", "dual-plane"]),
       nodes=st.integers(2, 40), rails=st.integers(1, 4), radix=st.sampled_from([4, 6, 8, 12, 16]),
       over=st.sampled_from([1.0, 1.5, 3.0]), spine=st.sampled_from([100e9, 200e9, 400e9]),
       pattern=st.sampled_from(["ring", "all-to-all", "permutation", "incast"]),
       placement=st.sampled_from(["contiguous", "scattered"]),
       lb=st.sampled_from(["ecmp", "spraying", "gse", "adaptive"]), q=st.integers(1, 3), seed=st.integers(0, 99))
def test_invariants_on_random_fabrics(topology, nodes, rails, radix, over, spine, pattern, placement, lb, q, seed):
    """Random fabrics and traffic: rates positive and finite, no link above capacity, every flow has a
    saturated bottleneck link whose load equals its capacity, and completion times are consistent
    with conservation (never faster than line rate, nor than the busiest link can carry)."""
    try:
        fab = build_fabric(nodes, rails, 100e9, spine, radix, over, topology)
    except InputError as e:  # a radix that cannot build the size: named, not a crash
        assert e.field in ("fabric.radix", "fabric.oversubscription")
        return
    n = min(nodes, fab.n_nodes)
    s, t = traffic(fab, pattern, n, placement=placement, seed=seed)
    rt = route(fab, s, t, lb, q, seed)
    sol = solve(fab, rt)
    assert np.all(np.isfinite(sol.rate)) and np.all(sol.rate > 0) and np.all(sol.var_rate > 0)
    assert np.all(sol.link_load <= fab.cap * (1 + 1e-9))
    assert np.all(sol.rate <= fab.nic_speed * (1 + 1e-9))
    sat = sol.link_load >= fab.cap * (1 - 1e-7)
    for v in range(len(rt.var_ptr) - 1):
        lk = rt.var_link[rt.var_ptr[v]:rt.var_ptr[v + 1]]
        assert sat[lk].any(), f"variable {v} has no saturated link"
    assert np.allclose(sol.link_load[sat], fab.cap[sat], rtol=1e-7)
    fin = transfer_times(fab, rt, 1e8)
    assert np.all(np.isfinite(fin)) and np.all(fin > 0)
    assert np.all(fin >= 1e8 / fab.nic_speed * (1 - 1e-9))
    # conservation: no link moves more than its capacity, so the last transfer cannot end before the
    # busiest link has carried all the bits routed over it
    per_var = np.bincount(rt.var_flow, minlength=rt.n_flows)[rt.var_flow]
    bits = np.bincount(rt.var_link, weights=rt.var_w * np.repeat(1e8 / per_var, np.diff(rt.var_ptr)),
                       minlength=fab.n_links)
    assert fin.max() >= (bits / fab.cap).max() * (1 - 1e-9)
