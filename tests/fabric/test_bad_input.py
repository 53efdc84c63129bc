"""Bad input through the public fabric functions: every case raises InputError (or ScenarioError /
CatalogError) naming the field; nothing truncates, hangs, overflows or returns NaN."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twin.fabric as F
from twin.errors import TwinError
from twin.fabric.routing import route, solve, traffic, transfer_times
from twin.scenario import load_scenario

SC = load_scenario("cluster-2023")
FAB = F.build_fabric(16, 2, "100 Gbit/s", radix=8)

CASES = [
    ("node_bandwidth fractional nodes", lambda: F.node_bandwidth(SC, 4.5), "n_nodes"),
    ("node_bandwidth NaN nodes", lambda: F.node_bandwidth(SC, float("nan")), "n_nodes"),
    ("node_bandwidth string nodes", lambda: F.node_bandwidth(SC, "abc"), "n_nodes"),
    ("node_bandwidth bool nodes", lambda: F.node_bandwidth(SC, True), "n_nodes"),
    ("node_bandwidth too many nodes for the radix", lambda: F.node_bandwidth(SC, 10**7), "fabric.radix"),
    ("base_latency infinite nodes", lambda: F.base_latency(SC, float("inf")), "n_nodes"),
    ("fractional radix", lambda: F.build_fabric(8, 1, "100 Gbit/s", radix=2.5), "fabric.radix"),
    ("infinite oversubscription", lambda: F.build_fabric(8, 1, "100 Gbit/s", radix=8, oversubscription=float("inf")),
     "fabric.oversubscription"),
    ("string oversubscription", lambda: F.build_fabric(8, 1, "100 Gbit/s", radix=8, oversubscription="lots"),
     "fabric.oversubscription"),
    ("fractional NICs per node", lambda: F.build_fabric(8, 1.5, "100 Gbit/s", radix=8), "fabric.nics_per_node"),
    ("unknown switch", lambda: F.build_fabric(8, 1, "100 Gbit/s", radix=8, switch="bogus"), "fabric.switch"),
    ("string endpoints", lambda: F.flow_rates(FAB, ["a"], [1]), "traffic.src"),
    ("fractional endpoint", lambda: F.flow_rates(FAB, [0.5], [1]), "traffic.src"),
    ("NaN endpoint", lambda: F.flow_rates(FAB, [0], [np.nan]), "traffic.dst"),
    ("no flows", lambda: F.flow_rates(FAB, [], []), "traffic.src"),
    ("negative seed", lambda: F.flow_rates(FAB, [0], [9], seed=-1), "traffic.seed"),
    ("NaN transfer size (used to loop forever)", lambda: transfer_times(FAB, route(FAB, [0], [9]), np.nan), "traffic.size"),
    ("infinite transfer size", lambda: transfer_times(FAB, route(FAB, [0], [9]), np.inf), "traffic.size"),
    ("NaN demand", lambda: solve(FAB, route(FAB, [0], [9]), demand=[np.nan]), "traffic.demand"),
    ("all-to-all with no peers", lambda: traffic(FAB, "all-to-all", 8, sample=0), "traffic.sample"),
    ("unknown placement", lambda: traffic(FAB, "ring", 4, placement="random"), "traffic.placement"),
    ("scenario placement", lambda: load_scenario({"extends": "cluster-2023", "fabric": {"placement": "random"}}),
     "fabric.placement"),
    ("radix cannot build the scenario", lambda: F.node_bandwidth(
        load_scenario({"extends": "cluster-2023", "fabric": {"radix": 4}}), 64), "fabric.radix"),
    ("radix above the switch chip", lambda: F.node_bandwidth(
        load_scenario({"extends": "cluster-2023", "fabric": {"radix": 512}}), 64), "fabric.radix"),
    ("all-reduce of nothing", lambda: F.allreduce_time(SC, 4, "0 GB"), "message_size"),
    ("all-reduce in watts", lambda: F.allreduce_time(SC, 4, "3 W"), "message_size"),
    ("all-reduce on one node", lambda: F.allreduce_time(SC, 1, "1 GB"), "n_nodes"),
    ("DCQCN with no flows", lambda: F.dcqcn_fixed_point(0), "dcqcn.n_flows"),
    ("DCQCN zero capacity", lambda: F.dcqcn_fixed_point(2, "0 Gbit/s"), "dcqcn.capacity"),
    ("DCQCN Pmax zero", lambda: F.dcqcn_fixed_point(2, pmax=0), "dcqcn.pmax"),
    ("DCQCN Kmin above Kmax", lambda: F.dcqcn_fixed_point(2, kmin="300 kB"), "dcqcn.kmax"),
    ("incast fractional senders", lambda: F.incast("dcqcn", 2.5), "congestion.n_senders"),
    ("incast too big to hold", lambda: F.incast("dcqcn", 10000, duration="10 s"), "congestion.duration"),
    ("incast NaN Kmin", lambda: F.incast("dcqcn", 4, kmin=float("nan")), "congestion.kmin"),
    ("incast zero line rate", lambda: F.incast("dcqcn", 4, line_rate="0 Gbit/s"), "congestion.line_rate"),
    ("incast HPCC eta above 1", lambda: F.incast("hpcc", 4, eta=1.5), "congestion.eta"),
    ("incast credits overcommit 0", lambda: F.incast("credits", 4, overcommit=0), "congestion.overcommit"),
    ("FEC NaN BER", lambda: F.fec_latency("100 Gbit/s", bypass=True, ber=float("nan")), "fec.ber"),
    ("flexible FEC string BER", lambda: F.flexible_fec("x"), "fec.ber"),
    ("optics in watts", lambda: F.optics_power("400 W"), "optics.speed"),
]


@pytest.mark.parametrize("name,call,field", CASES, ids=[c[0] for c in CASES])
def test_bad_input_names_the_field(name, call, field):
    with pytest.raises(TwinError) as e:
        call()
    assert getattr(e.value, "field", None) == field, str(e.value)
    assert field in str(e.value)


@settings(max_examples=40, deadline=None, database=None)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not float(x).is_integer()),
                       st.integers(-10, 0), st.text(max_size=3), st.none(), st.booleans()))
def test_node_counts_reject_anything_but_positive_integers(value):
    for call, field in ((lambda: F.node_bandwidth(SC, value), "n_nodes"), (lambda: F.base_latency(SC, value), "n_nodes"),
                        (lambda: F.incast("pfc", value, duration="20 us"), "congestion.n_senders")):
        with pytest.raises(TwinError) as e:
            call()
        assert e.value.field == field
