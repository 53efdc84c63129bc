"""Validation quantities and benchmarks of the cost domain (loaded by twin.registry)."""
from __future__ import annotations

from ..bench import Benchmark, register_benchmark
from ..validation import register_quantity


def _one_server_scenario(accelerator: str, cards_per_node: int, region: str | None = None):
    from ..scenario import load_scenario

    from .. import catalog

    from ..energy.power import class_entry, default_server_class

    acc = catalog.accelerator(accelerator, field="inputs.accelerator")
    topo = "pcie" if acc.form_factor == "pcie" else ("nvswitch" if str(acc.link_family).startswith("nvlink") else "oam-hcm")
    # the host CPUs of the accelerator's own server class (datasets/catalog/servers.toml, e.g. the
    # DGX-1's 2 x 135 W Xeon E5-2698 v4), not the cluster-2023 preset's 2 x 270 W A800 hosts
    cls = class_entry(default_server_class(acc.name, topo))
    d = {"extends": "cluster-2023", "compute": {"accelerator": acc.name, "nodes": 8, "cards_per_node": int(cards_per_node),
                                              "topology": topo, "domain_size": int(cards_per_node),
                                              "cpus_per_node": int(cls["cpus"]), "cpu_tdp": cls["cpu_tdp"]},
         "workload": {"tp": int(cards_per_node), "pp": 1}}
    if region:
        d["cost"] = {"region": region}
    return load_scenario(d)


@register_quantity("cost.training-emissions", domain="cost", unit="t")
def _training_emissions(accelerator: str, gpu_hours: float, pue: float = 1.0, region: str | None = None,
                        grid_emission_factor: str | None = None, power_basis: str = "tdp", cards_per_node: int = 8,
                        embodied: bool = False):
    """CO2e of a training run from its published accelerator-hours: power per card (the card's TDP
    or the twin's full-load server power per card), PUE, the region's grid factor (or a given one),
    and optionally embodied carbon of the servers amortised over the IT depreciation period."""
    from .. import catalog
    from ..errors import InputError
    from ..units import Q_, magnitude
    from . import load_prices, region as get_region, training_emissions

    sc = _one_server_scenario(accelerator, cards_per_node, region)
    if power_basis == "tdp":
        p = catalog.accelerator(sc.compute.accelerator).tdp
    elif power_basis == "server":
        # the twin's own servers' wall power per card (accelerators, CPUs, fans, PSU losses at the
        # workload's utilisation; the hall's storage and network are not the run's): a throw-away
        # Twin runs the energy domain and what it needs
        from ..core import Twin
        from ..tree import array

        t = Twin(sc)
        t.run(["energy"])
        p = Q_(float(array(t.state, "energy", "server_power", "W").sum()) / sc.cards, "W")
    else:
        raise InputError("inputs.power_basis", power_basis, "'tdp' or 'server'")
    if grid_emission_factor is None:
        if region is None:
            raise InputError("inputs.region", region, "a region of datasets/catalog/regions.toml or a grid_emission_factor")
        grid = get_region(region, "inputs.region").grid_emission_factor
    else:
        grid = Q_(grid_emission_factor)
    emb = None
    if embodied:
        pr = load_prices(str(sc.cost.prices))
        per_card = (pr["server"]["embodied_per_server"]["value"] / int(cards_per_node)
                    + pr["server"]["embodied_per_card"]["value"])
        life_h = magnitude(sc.cost.it_depreciation, "h", "cost.it_depreciation")
        emb = per_card * float(gpu_hours) / life_h
    return training_emissions(float(gpu_hours), p, float(pue), grid, embodied=emb)


@register_quantity("cost.grid-emission-factor", domain="cost", unit="kg/kWh")
def _grid_factor(region: str):
    """The grid emission factor the twin uses for a region (datasets/catalog/regions.toml)."""
    from . import region as get_region

    return get_region(region, "inputs.region").grid_emission_factor


@register_quantity("cost.gpu-hour-cost", domain="cost", unit="USD/h")
def _gpu_hour_cost(scenario: str = "cluster-2023", accelerator: str | None = None, nodes: int | None = None,
                   region: str | None = None):
    """Owner's cost per accelerator-hour of a cluster (capex depreciated + opex), the twin's full
    run of the scenario (energy, fabric, training, cost)."""
    from ..core import Twin
    from ..scenario import load_scenario
    from ..tree import value
    from ..units import Q_

    d: dict = {"extends": scenario}
    if accelerator:
        d["compute"] = {"accelerator": accelerator}
    if nodes:
        d.setdefault("compute", {})["nodes"] = int(nodes)
    if region:
        d["cost"] = {"region": region}
    t = Twin(load_scenario(d))
    t.run(["cost"])
    return Q_(value(t.state, "cost", "cost_per_gpu_hour", "USD/h"), "USD/h")


@register_benchmark("sweep-1000", domain="cost",
                    goal="a 1,000-point sweep of the whole twin on a local Dask cluster: points per second; "
                         "each point reuses every domain result whose inputs did not change")
def _bench_sweep(quick: bool) -> Benchmark:
    import shutil
    import tempfile

    import numpy as np

    from .. import catalog
    from ..sweep import _MEMO, sweep_to_zarr

    regions = catalog.names("regions")
    n_dep = 1 if quick else 77  # full: 13 regions x 77 periods = 1,001 points
    years = [f"{3 + 0.05 * i:.2f} year" for i in range(n_dep)]
    grid_fast = {"cost.region": regions, "cost.it_depreciation": years}
    n_ref = 1 if quick else 2
    grid_ref = {"cost.region": regions[:n_ref], "cost.it_depreciation": years[:1]}
    npts = len(regions) * n_dep
    tmp = tempfile.mkdtemp(prefix="nicc-sweep-bench-")
    metrics = ["cost.cost_per_gpu_hour", "cost.carbon_per_million_tokens"]

    def fast():
        for p in ("fast.zarr", "fast.zarr.cache"):  # a cold start every time: the reuse is within the sweep
            shutil.rmtree(f"{tmp}/{p}", ignore_errors=True)
        _MEMO.clear()  # worker threads of a --quick run share this process's memo
        return sweep_to_zarr("cluster-2023", grid_fast, f"{tmp}/fast.zarr", metrics=metrics, n_workers=2,
                             processes=not quick)

    def reference():
        shutil.rmtree(f"{tmp}/ref.zarr", ignore_errors=True)
        return sweep_to_zarr("cluster-2023", grid_ref, f"{tmp}/ref.zarr", metrics=metrics, n_workers=2,
                             processes=not quick, reuse=False)

    def compare(f, r):
        sel = {"cost.region": list(r["cost.region"].values), "cost.it_depreciation": list(r["cost.it_depreciation"].values)}
        return max(float(np.max(np.abs(f[m].sel(sel).values / r[m].values - 1))) for m in metrics)

    return Benchmark(size=f"{npts} points (cost.region x cost.it_depreciation) on cluster-2023, 2 "
                          f"{'worker threads' if quick else 'worker processes'}",
                     fast=fast, reference=reference, repeats=1, reference_repeats=1,
                     reference_scale=npts / n_ref, compare=compare, tolerance=1e-9,
                     metric="max relative difference on the reference's points",
                     note=f"reference: the same sweep without reuse (every domain recomputed at every point), "
                          f"{n_ref} point(s), scaled to {npts}; points/s = {npts} / fast_s")
