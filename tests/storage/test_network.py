"""Storage traffic on the fabric: checkpoint bursts and reads as max-min flows on the parameter or a
separate storage network, the network-limited checkpoint, the training slowdown on a shared network."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import twin.storage as S
from twin.errors import InputError, ScenarioError
from twin.scenario import load_scenario
from twin.storage import model as M
from twin.storage.network import traffic_on_fabric
from twin.units import Q_

C23 = load_scenario("cluster-2023")
SHARED = C23.with_overrides({"storage": {"network": "parameter"}})


def test_few_storage_servers_make_the_network_the_checkpoint_limit():
    one = S.storage_traffic(C23, storage_servers=1, checkpoint_mode="sync")
    many = S.storage_traffic(C23, storage_servers=16, checkpoint_mode="sync")
    assert float(one.checkpoint_write_time) > 2 * float(many.checkpoint_write_time)
    # one server: its 2 x 200 Gbit/s storage ports carry the whole checkpoint
    assert one.attrs["write_limit"] == "network"
    size = float(S.storage(C23).checkpoint_size) * 1e9
    line = 2 * 200e9 / 8 * M.NETWORK_EFFICIENCY
    assert float(one.checkpoint_network_time) == pytest.approx(size / line, rel=0.02)
    assert float(one.checkpoint_network_bandwidth) <= line / 1e9 * (1 + 1e-9)
    # sixteen: the storage system is the slowest stage, the write time is the max of the stages
    assert many.attrs["write_limit"] == "storage_system"
    for ds in (one, many):
        assert float(ds.checkpoint_write_time) >= float(ds.checkpoint_stage_time.max())
        assert float(ds.checkpoint_write_time) >= max(float(ds.checkpoint_network_time),
                                                      float(ds.checkpoint_storage_time))
        assert float(ds.checkpoint_stage_time.sel(checkpoint_stage="network")) == pytest.approx(
            float(ds.checkpoint_network_time))
    # the slower write costs goodput
    assert float(one.goodput) < float(many.goodput)


def test_slow_storage_nics_bind_and_the_network_rate_scales_with_them():
    slow = S.storage_traffic(C23.with_overrides({"storage": {"storage_nic_speed": "25 Gbit/s"}}), checkpoint_mode="sync")
    base = S.storage_traffic(C23, checkpoint_mode="sync")
    assert slow.attrs["write_limit"] in ("network", "nic")
    assert float(slow.checkpoint_write_time) > float(base.checkpoint_write_time)
    # 8x slower ports: 8x less network rate (same flows, same collisions)
    assert float(base.checkpoint_network_bandwidth) / float(slow.checkpoint_network_bandwidth) == pytest.approx(8.0, rel=1e-6)
    assert float(base.network_read_bandwidth) / float(slow.network_read_bandwidth) == pytest.approx(8.0, rel=1e-6)


def test_shared_network_slows_training_during_a_burst_and_a_separate_one_does_not():
    sep = S.storage_traffic(C23, checkpoint_mode="async")
    sh = S.storage_traffic(SHARED, checkpoint_mode="async")
    assert sep.attrs["storage_network"] == "separate" and sh.attrs["storage_network"] == "parameter"
    assert float(sep.burst_collective_share) == 0 and float(sep.burst_step_slowdown) == 0
    assert 0 < float(sh.burst_collective_share) < 1 and float(sh.burst_step_slowdown) > 0
    # the slowdown is the fabric share of the step stretched by 1 / (1 - s), never more than the step's
    # fabric time grows
    s = float(sh.burst_collective_share)
    assert float(sh.burst_step_slowdown) <= s / (1 - s) + 1e-12
    # it feeds the checkpoint cost, the goodput and the effective step time: an asynchronous flush
    # on the shared network runs beside the training
    full = S.storage(SHARED, checkpoint_mode="async")
    assert float(full.checkpoint_cost) > float(full.checkpoint_blocking_time)
    sep_full = S.storage(C23, checkpoint_mode="async")
    assert float(sep_full.checkpoint_cost) == pytest.approx(float(sep_full.checkpoint_blocking_time))
    tau = float(full.checkpoint_interval)
    bare = float(full.step_time) * (1 + float(full.read_step_slowdown)) + float(full.io_wait)
    assert float(full.effective_step_time) == pytest.approx(bare * (1 + float(full.checkpoint_cost) / tau), rel=1e-9)
    assert float(full.effective_step_time) > bare * (1 + float(full.checkpoint_blocking_time) / tau)
    # a synchronous write blocks the training: nothing runs beside it
    sync = S.storage(SHARED, checkpoint_mode="sync")
    assert float(sync.checkpoint_cost) == pytest.approx(float(sync.checkpoint_blocking_time))
    assert float(sync.burst_collective_share) > 0


def test_more_storage_servers_on_a_shared_network_take_more_of_the_collective():
    few = S.storage_traffic(SHARED, storage_servers=1, checkpoint_mode="async")
    many = S.storage_traffic(SHARED, storage_servers=32, checkpoint_mode="async")
    # one server throttles the burst to its ports, so it takes less from the ring than 32 servers do
    assert float(few.burst_collective_share) < float(many.burst_collective_share)


def test_units_of_the_network_results():
    ds = S.storage_traffic(SHARED)
    want = {"checkpoint_network_time": "s", "checkpoint_storage_time": "s", "checkpoint_network_bandwidth": "GB / s",
            "network_read_bandwidth": "GB / s", "read_delivered": "GB / s", "burst_collective_share": "",
            "burst_step_slowdown": "", "read_collective_share": "", "read_step_slowdown": "", "checkpoint_cost": "s",
            "checkpoint_stage_time": "s", "storage_servers": ""}
    for k, u in want.items():
        assert ds[k].attrs["units"] == u, k
        assert np.all(np.isfinite(ds[k].values)), k
    assert list(ds.checkpoint_stage.values) == list(S.CHECKPOINT_STAGES)
    assert S.client_read_bandwidth(1, 1, "400 Gbit/s").units == Q_(1, "GB/s").units


@pytest.mark.parametrize("servers", [0, -3, 2.5, True])
def test_bad_storage_server_count_names_the_field(servers):
    with pytest.raises(InputError) as e:
        S.storage_traffic(C23, storage_servers=servers)
    assert e.value.field == "storage_servers"


def test_bad_nic_input_names_the_field():
    with pytest.raises((InputError, ScenarioError)) as e:
        S.storage_traffic(C23.with_overrides({"storage": {"storage_nic_speed": "0 Gbit/s"}}))
    assert "storage.storage_nic_speed" in str(e.value)
    with pytest.raises(InputError) as e:
        S.storage_traffic(C23.with_overrides({"storage": {"storage_nics_per_node": 0}}))
    assert e.value.field == "storage.storage_nics_per_node"
    with pytest.raises(InputError) as e:
        S.client_read_bandwidth(1, 1, "10 W")
    assert e.value.field == "storage.storage_nic_speed"
    with pytest.raises(InputError) as e:
        S.client_read_bandwidth(1, 1, "-100 Gbit/s")
    assert e.value.field == "storage.storage_nic_speed"
    for kw, field in (({"clients": 0}, "clients"), ({"servers": 0}, "servers")):
        args = {"clients": 1, "nics_per_client": 1, "nic_speed": "100 Gbit/s", **kw}
        with pytest.raises(InputError) as e:
            S.client_read_bandwidth(**args)
        assert e.value.field == field


def test_a_client_gets_its_ports_not_more_and_more_clients_share_the_servers():
    one = S.client_read_bandwidth(1, 2, "200 Gbit/s", servers=4).to("GB/s").magnitude
    assert one == pytest.approx(2 * 25 * M.NETWORK_EFFICIENCY)
    # 16 clients on one server of 2 ports: the server's ports are the limit
    crowd = S.client_read_bandwidth(16, 2, "200 Gbit/s", servers=1).to("GB/s").magnitude
    assert crowd == pytest.approx(2 * 25 * M.NETWORK_EFFICIENCY)
    assert S.client_read_bandwidth(16, 2, "200 Gbit/s", servers=16).to("GB/s").magnitude > 4 * crowd


@settings(max_examples=25, deadline=None)
@given(nodes=st.integers(1, 24), servers=st.integers(1, 12), ports=st.integers(1, 4),
       gbps=st.sampled_from([25, 100, 200, 400]), network=st.sampled_from(["separate", "parameter"]),
       demand=st.floats(0.0, 5e10), sys_read=st.floats(1e9, 1e12), sys_write=st.floats(1e9, 1e12),
       size=st.floats(1e9, 1e13))
def test_delivered_rates_respect_demand_nics_and_the_storage_system(nodes, servers, ports, gbps, network, demand,
                                                                   sys_read, sys_write, size):
    # the job takes ``nodes`` of the scenario's 128-node fabric
    sc = C23.with_overrides({"fabric": {"nics_per_node": ports, "nic_speed": f"{gbps} Gbit/s"},
                             "storage": {"network": network, "storage_nics_per_node": ports,
                                         "storage_nic_speed": f"{gbps} Gbit/s"}})
    out = traffic_on_fabric(sc, nodes=nodes, servers=servers, checkpoint_bytes=size, host_rate_node=1e11,
                            read_demand_node=demand, sys_write=sys_write, sys_read=sys_read,
                            fabric_comm_time=0.5, step_time=2.0)
    port = gbps * 1e9 / 8 * M.NETWORK_EFFICIENCY
    nic_cap = min(nodes, servers) * ports * port  # nodes' and servers' storage ports
    tol = 1 + 1e-9
    assert 0 <= out["read_delivered"] <= min(nodes * demand, sys_read, nic_cap) * tol
    if demand > 0:
        assert out["read_delivered"] > 0
    assert math.isfinite(out["t_network"]) and out["t_network"] > 0
    assert 0 < out["write_bw"] <= nic_cap * tol
    # the network cannot beat the slowest node's or the servers' ports
    assert out["t_network"] >= size / nodes / (ports * port) / tol
    assert out["t_network"] >= size / (min(servers, nodes) * ports * port) / tol
    assert 0 < out["node_read_bw"] <= ports * port * tol
    assert out["read_capacity"] <= nic_cap * tol
    for k in ("burst_share", "read_share"):
        assert 0 <= out[k] < 1
        assert math.isfinite(out[f"{k.split('_')[0]}_slowdown"]) and out[f"{k.split('_')[0]}_slowdown"] >= 0
    if network == "separate":
        assert out["burst_share"] == out["read_share"] == 0
