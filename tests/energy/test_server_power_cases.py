"""Server maximum-power cases: which chassis the published maxima cover, and a chassis given by its
datasheet parts (energy.server-power with `parts`), used for the two-baseboard DGX-2 (16 GPUs,
12 NVSwitches) whose 350 W and 450 W versions differ only in GPU and CPU power."""
import pytest

from twin import catalog
from twin.energy import power
from twin.errors import InputError
from twin.paths import datasets_dir, load_toml
from twin.validation import quantities

SERVER_POWER = quantities()["energy.server-power"].func
COLUMNS = ("cpus", "cpu_tdp", "dimms", "dimm_power", "nvswitches", "nvswitch_power", "nics", "nic_power", "dpus",
           "dpu_power", "drives", "drive_power", "pcie_switches", "pcie_switch_power", "misc", "psu_efficiency")


def _server_cases():
    cases = load_toml(datasets_dir() / "validation" / "energy.toml")["case"]
    return {c["id"]: c for c in cases if c.get("quantity") == "energy.server-power"}


def _parts_of_class(cls):
    e = power.class_entry(cls)
    return {k: (e[k] if isinstance(e[k], (int, float)) else f"{e[k].to('W').magnitude} W") for k in COLUMNS if k in e}


@pytest.mark.parametrize("cls", power.server_classes())
def test_parts_table_reproduces_every_catalog_class(cls):
    """The same parts given as a table give the class's power exactly (one model, two ways in)."""
    e = power.class_entry(cls)
    for u, t in ((1.0, "35 degC"), (0.4, "22 degC")):
        by_class = power.server_power_q(server_class=cls, utilisation=u, t_inlet=t).to("W").magnitude
        by_parts = SERVER_POWER(accelerator=str(e["accelerator"]), cards=int(e["cards"]), utilisation=u, t_inlet=t,
                                parts=_parts_of_class(cls)).to("W").magnitude
        assert by_parts == pytest.approx(by_class, rel=1e-12)


def test_published_maxima_cover_six_chassis_and_two_are_calibrated():
    cases = _server_cases()
    chassis = {c["inputs"].get("server_class") or c["inputs"]["accelerator"] for c in cases.values()
               if "server_class" in c["inputs"] or "parts" in c["inputs"]}
    assert len(chassis) >= 6
    assert {i for i, c in cases.items() if c.get("calibrated")} == {"dgx-a100-max-power", "dgx-h100-max-power"}
    for c in cases.values():
        assert c["kind"] == "measurement" and c["source"].strip()


def test_dgx2h_minus_dgx2_is_the_gpu_and_cpu_power_through_fans_and_psu():
    """Same parts but 16 GPUs (350 -> 450 W) and 2 CPUs (205 -> 240 W): at full load and 35 degC the
    wall power differs by that heat times (1 + FAN_RATIO) / eta."""
    cases = _server_cases()
    a = SERVER_POWER(**cases["dgx-2-max-power"]["inputs"]).to("W").magnitude
    b = SERVER_POWER(**cases["dgx-2h-max-power"]["inputs"]).to("W").magnitude
    d_gpu = 16 * (catalog.accelerator("V100-SXM3-32GB-450W").tdp - catalog.accelerator("V100-SXM3-32GB").tdp)
    d_heat = d_gpu.to("W").magnitude + 2 * (240.0 - 205.0)
    assert b - a == pytest.approx(d_heat * (1 + power.FAN_RATIO) / 0.94, rel=1e-9)


def test_bad_parts_are_input_errors():
    good = _parts_of_class("hgx-h100")
    with pytest.raises(InputError, match="parts"):
        SERVER_POWER(accelerator="H100-SXM5-80GB", cards=8, parts={**good, "gpus": 8})
    with pytest.raises(InputError, match="parts.cpus"):
        SERVER_POWER(accelerator="H100-SXM5-80GB", cards=8, parts={**good, "cpus": -1})
    with pytest.raises(InputError, match="psu_efficiency"):
        SERVER_POWER(accelerator="H100-SXM5-80GB", cards=8, parts={**good, "psu_efficiency": 1.4})
    with pytest.raises(InputError, match="parts"):
        SERVER_POWER(accelerator="H100-SXM5-80GB", cards=8, server_class="hgx-h100", parts=good)
    with pytest.raises(InputError, match="parts"):
        SERVER_POWER(cards=8, parts=good)
