"""The validation quantities flow-throughput-share (max-min share of long flows under a load
balancing) and rdma-write-goodput (payload rate of one RDMA stream): invariants from the physics
they model, not numbers the model printed."""
import math

import pytest

from twin.errors import InputError
from twin.validation import quantities

SHARE = quantities()["flow-throughput-share"].func
GOODPUT = quantities()["rdma-goodput"].func

# a small non-blocking 2-tier fabric: 64 nodes x 1 NIC on radix-16 switches (8 hosts and 8 uplinks per leaf)
SMALL = dict(nodes=64, rails=1, topology="fat-tree-2tier", radix=16, link_speed="100 Gbit/s", pattern="permutation")


def test_spraying_fills_a_non_blocking_fabric():
    # an even split over all equal paths loads every uplink of a non-blocking fabric exactly to its
    # capacity under a permutation: every flow gets the line rate
    assert SHARE(load_balancing="spraying", **SMALL) == pytest.approx(1.0, rel=1e-9)


def test_ecmp_below_balls_into_bins_bound():
    # k flows leaving a leaf hash onto its k uplinks; the leaf's outgoing rate is at most the used
    # uplinks x C, and E[used]/k = 1 - (1 - 1/k)^k (balls into bins). Random permutations keep a few
    # flows inside the leaf, so allow a small margin above the bound; collisions make it well below 1.
    k = 8
    bound = 1 - (1 - 1 / k) ** k
    ecmp = SHARE(load_balancing="ecmp", seeds=5, **SMALL)
    assert 0.3 < ecmp < bound + 0.08


def test_more_hash_draws_and_load_awareness_help():
    base = SHARE(load_balancing="ecmp", seeds=4, **SMALL)
    many_qps = SHARE(load_balancing="ecmp", flows_per_pair=8, seeds=4, **SMALL)
    adaptive = SHARE(load_balancing="adaptive", seeds=4, **SMALL)
    assert base < many_qps <= 1.0 + 1e-12
    assert base < adaptive <= 1.0 + 1e-12


def test_protocol_scales_by_payload_share():
    raw = SHARE(load_balancing="ecmp", seeds=2, **SMALL)
    roce = SHARE(load_balancing="ecmp", seeds=2, protocol="roce", **SMALL)
    # RoCEv2 at a 4096 B MTU: Eth 18 + IPv4 20 + UDP 8 + BTH 12 + ICRC 4 + preamble/IFG 20 = 82 B per packet
    assert roce == pytest.approx(raw * 4096 / (4096 + 82), rel=1e-12)


def test_goodput_is_line_rate_times_header_share():
    # InfiniBand at a 4096 B MTU: LRH 8 + BTH 12 + ICRC 4 + VCRC 2 = 26 B per packet (IBTA Vol. 1)
    ib = GOODPUT(protocol="infiniband", rate="200 Gbit/s").to("Gbit/s").magnitude
    assert ib == pytest.approx(200 * 4096 / (4096 + 26), rel=1e-12)
    roce = GOODPUT(protocol="roce", rate="200 Gbit/s").to("Gbit/s").magnitude
    eth = GOODPUT(protocol="ethernet", rate="200 Gbit/s").to("Gbit/s").magnitude
    assert eth < roce < ib < 200
    # linear in the rate
    assert GOODPUT(protocol="roce", rate="400 Gbit/s").to("Gbit/s").magnitude == pytest.approx(2 * roce)


@pytest.mark.parametrize("kw, field", [
    (dict(nodes=1), "nodes"),
    (dict(seeds=0), "seeds"),
    (dict(load_balancing="hashing"), "fabric.load_balancing"),
    (dict(pattern="broadcast"), "traffic.pattern"),
    (dict(protocol="fibre-channel"), "fabric.protocol"),
])
def test_share_bad_input_names_the_field(kw, field):
    args = {**SMALL, **kw}
    with pytest.raises(InputError) as e:
        SHARE(**args)
    assert e.value.field == field


def test_goodput_bad_input_names_the_field():
    with pytest.raises(InputError) as e:
        GOODPUT(protocol="infiniband", rate="-1 Gbit/s")
    assert e.value.field == "rate"
    with pytest.raises(InputError) as e:
        GOODPUT(protocol="token-ring", rate="100 Gbit/s")
    assert e.value.field == "fabric.protocol"
    assert math.isfinite(GOODPUT(protocol="gse", rate="100 Gbit/s").to("Gbit/s").magnitude)
