"""Write the core notebooks (app, 00_overview, validation). Run, then execute them with nbconvert."""
import nbformat as nbf
from pathlib import Path

NB = Path(__file__).resolve().parents[1] / "notebooks"
BOOT = "from widgets.common import load_bokehjs\nload_bokehjs()  # BokehJS inline: works offline and under Voila"


def write(name, cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c) for c in cells]
    nbf.write(nb, NB / name)


write("app.ipynb", [
    BOOT,
    "import os\nfrom widgets.app import App\n\napp = App(os.environ.get('NICC_TWIN_SCENARIO', 'cluster-2023'))\napp.view",
])

write("00_overview.ipynb", [
    "md:# NICC Twin: overview of the three eras\n\nThe white paper (Fig. 2-2) sees the intelligent computing centre move through three eras: "
    "**heterogeneous** (to 2021: 4-8 PCIe cards, 25G Ethernet, separate storage, bare metal, air), "
    "**cluster** (2022-24: 8-card high-speed bus, 100/200G RoCE/IB, converged storage, pooling, air plus cold plate) and "
    "**super-pooling** (2025-: 100-card switched super-servers S², 400G GSE, memory pools and global storage, "
    "cold plate plus immersion). Each era is a preset scenario; this notebook loads them and compares their headline figures.",
    BOOT,
    "import pandas as pd\nfrom twin.scenario import list_presets, load_scenario\nfrom twin.summary import summary, format_value\n\n"
    "eras = ['heterogeneous-2021', 'cluster-2023', 'superpool-2025']\nscenarios = {n: load_scenario(n) for n in eras}\n"
    "table = pd.DataFrame({n: {f.label: format_value(f.value) for f in summary(sc)} for n, sc in scenarios.items()})\ntable",
    "# NBVAL_CHECK_OUTPUT\n# Headline numbers per era: cards, peak BF16/FP16 [PFLOP/s], scale-up per card [GB/s], IT power [kW]\n"
    "for n, sc in scenarios.items():\n    figs = {f.key: f.value for f in summary(sc)}\n"
    "    print(f\"{n:20s} cards={figs['cards']:5d}  bf16={figs['peak_bf16'].to('PFLOP/s').magnitude:8.1f} PFLOP/s  \"\n"
    "          f\"scale-up={figs['scale_up'].to('GB/s').magnitude:7.1f} GB/s  IT={figs['it_power'].to('kW').magnitude:7.0f} kW\")",
    "md:## The twin's state\n\nA `Twin` holds the scenario's state as an `xarray.DataTree`, one group per white-paper domain, "
    "units in each variable's `attrs`. Domain models add their results as `/<domain>/results`.",
    "from twin.core import Twin\n\ntwin = Twin('cluster-2023')\ntwin.state",
    "# NBVAL_CHECK_OUTPUT\nfor group in ['compute', 'interconnect', 'fabric', 'storage', 'energy']:\n"
    "    ds = twin.state[group].to_dataset()\n    print(group, sorted((k, ds[k].attrs['units']) for k in ds.data_vars))",
    "md:## Bandwidth per card, memory to storage\n\nEvery era widens each level, but not evenly: the gap between HBM and the "
    "scale-out network is what drives the white paper's push to larger high-speed domains (S²).",
    "from bokeh.plotting import figure\nfrom bokeh.io import show\nfrom widgets.app import bandwidth_hierarchy\n\n"
    "p = figure(x_range=bandwidth_hierarchy(scenarios['cluster-2023'])['level'], y_axis_type='log', height=320, width=720,\n"
    "           title='Per-card bandwidth by era [GB/s]')\n"
    "colors = {'heterogeneous-2021': '#999999', 'cluster-2023': '#2b6cb0', 'superpool-2025': '#c05621'}\n"
    "for i, (n, sc) in enumerate(scenarios.items()):\n    d = bandwidth_hierarchy(sc)\n"
    "    p.scatter(d['level'], d['gbps'], size=12, color=colors[n], legend_label=n)\n"
    "p.legend.location = 'bottom_left'\nshow(p)",
    "# NBVAL_CHECK_OUTPUT\nfor n, sc in scenarios.items():\n    d = bandwidth_hierarchy(sc)\n"
    "    print(n, ' / '.join(f'{l}: {v:.3g}' for l, v in zip(d['level'], d['gbps'])))",
    "md:## Sweeps on a Dask scheduler\n\nA sweep varies scenario fields over a grid and runs every point as a task on a "
    "`dask.distributed` scheduler; the result is an `xarray.Dataset` with one dim per field. Here: GPT-3 175B on the "
    "cluster-era preset, NIC speed against load balancing. The training model asks the interconnect model for its "
    "collectives, which asks the fabric model for the inter-node hop, so the fabric choice reaches the step time.",
    "from dask.distributed import Client, LocalCluster\nfrom twin.sweep import sweep\nfrom twin import training\n\n"
    "with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:\n"
    "    grid = sweep('cluster-2023', {'fabric.nic_speed': ['100 Gbit/s', '200 Gbit/s', '400 Gbit/s'],\n"
    "                                  'fabric.load_balancing': ['ecmp', 'spraying']}, training.estimate, client=client)\n"
    "grid[['step_time', 'mfu', 'breakdown']]",
    "# NBVAL_CHECK_OUTPUT\n# step time [s] of GPT-3 175B on cluster-2023, by NIC speed (rows) and load balancing (columns)\n"
    "print(grid.step_time.to_pandas().round(2))",
])

write("validation.ipynb", [
    "md:# Validation: the twin against published measurements\n\nEvery case in `datasets/validation/` names a published number "
    "(paper, datasheet, benchmark result), the twin's quantity that predicts it, and a tolerance. Cases marked *calibrated* "
    "were used to fit a model parameter; all others are predictions. The errors are reported as they are.",
    BOOT,
    "import pandas as pd\nfrom twin.validation import run_cases, results_table\n\nresults = run_cases()\n"
    "df = results_table(results)\npd.set_option('display.max_colwidth', 60)\n"
    "df[['domain', 'id', 'expected', 'predicted', 'unit', 'rel_error', 'tolerance', 'calibrated', 'passed']]",
    "# Grouped by domain: how many cases, how many pass, the largest absolute error\n"
    "df.assign(abs_err=df.rel_error.abs()).groupby('domain').agg(cases=('id', 'count'), passed=('passed', 'sum'),\n"
    "                                                          max_abs_rel_error=('abs_err', 'max'))",
    "from bokeh.plotting import figure\nfrom bokeh.io import show\nfrom bokeh.models import ColumnDataSource, HoverTool\n"
    "from bokeh.palettes import Category10_10\n\nok = df[df.expected.notna() & df.predicted.notna()].copy()\n"
    "ok['ratio'] = ok.predicted / ok.expected\n"
    "p = figure(title='Predicted / published, per case', y_range=list(ok.id[::-1]), height=28 * len(ok) + 80, width=720,\n"
    "           x_axis_label='predicted / published')\n"
    "for i, (dom, g) in enumerate(ok.groupby('domain')):\n"
    "    p.scatter('ratio', 'id', source=ColumnDataSource(g), size=10, color=Category10_10[i % 10], legend_label=dom)\n"
    "p.ray(x=[1], y=[0], angle=1.5708, length=0, color='black', line_dash='dashed')\n"
    "p.add_tools(HoverTool(tooltips=[('case', '@id'), ('published', '@expected @unit'), ('predicted', '@predicted @unit'), ('source', '@source')]))\n"
    "show(p)",
    "md:## Known gaps\n\nA case marked `known_gap` is a measurement the twin is known to miss, with the reason. It is run and "
    "reported with its error like any other; it does not fail the run, but if it starts to pass the run fails until the mark is removed.",
    "for r in results:\n    if r.known_gap:\n        print(f'{r.id}: published {r.expected:.4g} {r.unit}, predicted {r.predicted:.4g} ({100 * r.rel_error:+.1f}%)\\n  {r.known_gap}')",
    "# NBVAL_CHECK_OUTPUT\nfailed = [r.id for r in results if not r.ok]\nprint('every case within tolerance or a documented known gap:', not failed, failed)",
])
print("written")
