"""Platform in the twin: evaluate through Twin.run, fields that move results, CLI, Dask."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from twin import Twin
from twin.errors import InputError
from twin.platform import NEEDS, aggregation_slowdown, overcommit_slowdown, pool, pool_grid, remote_slowdown
from twin.platform.cli import add_parser, parse_seeds
from twin.scenario import load_scenario


@pytest.fixture(scope="module")
def cluster():
    t = Twin("cluster-2023")
    t.run(["platform"])
    return t


def test_needs_and_results_in_tree(cluster):
    assert "fabric" in NEEDS
    ds = cluster.state["platform/results"].to_dataset()
    for k in ("allocation_rate", "served_rate", "stranded_gpus", "allocation_curve", "policy_mode_rate",
              "node_fragmentation", "remote_slowdown", "cards_needed"):
        assert k in ds.variables
    assert 0 < float(ds["allocation_rate"]) <= 100
    # pooling serves more of the load than whole cards on the same cluster
    assert float(ds["served_rate"]) > float(ds["served_rate_whole"])
    assert float(ds["remote_slowdown"]) >= 1.0
    assert (np.diff(ds["allocation_curve"].values) >= -1e-9).all()


def _platform(cluster, overrides):
    """Platform results of cluster-2023 with platform fields overridden (the fabric and the
    helpers' results of the fixture's tree are reused)."""
    import tomllib

    from twin.platform import evaluate

    base = tomllib.loads(load_scenario("cluster-2023").to_toml())
    base["platform"].update({"pool_seeds": 1, **overrides})
    return evaluate(load_scenario(base), cluster.state)


def test_fields_move_results(cluster):
    base = _platform(cluster, {})
    whole = _platform(cluster, {"allocation": "whole"})
    assert float(whole["served_rate"]) < float(base["served_rate"])
    io = _platform(cluster, {"pool_io_fraction": 0.5})
    assert float(io["aggregation_slowdown"]) > float(base["aggregation_slowdown"])
    oc = _platform(cluster, {"overcommit": 2.0})
    assert float(oc["overcommit_slowdown"]) != float(base["overcommit_slowdown"])
    fgd = _platform(cluster, {"pool_policy": "Random"})
    assert float(fgd["allocation_rate"]) != float(base["allocation_rate"])


def test_slowdown_models_and_bad_input():
    assert remote_slowdown(0.0, 1.0, 100.0) == 1.0
    assert remote_slowdown(0.2, 5.0, 2.0) > remote_slowdown(0.2, 25.0, 2.0) > 1.0
    assert aggregation_slowdown(0.2, 1, 400, 25) == 1.0
    assert aggregation_slowdown(0.2, 4, 400, 25) > aggregation_slowdown(0.2, 2, 400, 25)
    assert (overcommit_slowdown([0.5, 1.5]) == [1.0, 1.5]).all()
    with pytest.raises(InputError, match="pool_io_fraction"):
        remote_slowdown(1.5, 10, 1)
    with pytest.raises(InputError, match="network_bandwidth"):
        remote_slowdown(0.1, 0, 1)


def test_cli_pool(capsys):
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers())
    a = p.parse_args(["pool", "--trace", "sample", "--policy", "FGD,Random", "--seeds", "2", "--json"])
    assert a.func(a) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    rates = {r["policy"]: r["allocation_rate"] for r in out["rows"]}
    assert set(rates) == {"FGD", "Random"} and all(0 < v <= 100 for v in rates.values())
    assert parse_seeds("42-44") == [42, 43, 44] and parse_seeds("2") == [42, 43]
    with pytest.raises(InputError, match="--seeds"):
        parse_seeds("x")
    a = p.parse_args(["pool", "--policy", "Nope", "--seeds", "1"])
    with pytest.raises(InputError, match="policy"):
        a.func(a)


def test_dask_local_cluster_two_workers_matches_serial():
    kw = dict(policies=["FGD", "BestFit"], modes=["fractional"], seeds=[42, 43], ratio=1.0)
    serial = pool("sample", **kw)
    dist = pool_grid("sample", n_workers=2, **kw)
    np.testing.assert_array_equal(dist["allocation_rate"].sel(policy=serial["policy"]).values,
                                  serial["allocation_rate"].values)
