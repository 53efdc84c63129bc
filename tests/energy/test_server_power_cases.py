"""Server maximum-power cases: which chassis the published maxima cover, and the two-baseboard
DGX-2 (16 GPUs, 12 NVSwitches) whose 350 W and 450 W versions differ only in GPU and CPU power."""
import pytest

from twin import catalog
from twin.energy import power
from twin.paths import datasets_dir, load_toml
from twin.scenario.schema import FIELDS
from twin.validation import quantities

SERVER_POWER = quantities()["energy.server-power"].func


def _server_cases():
    cases = load_toml(datasets_dir() / "validation" / "energy.toml")["case"]
    return {c["id"]: c for c in cases if c.get("quantity") == "energy.server-power"}


def test_published_maxima_cover_six_chassis_and_two_are_calibrated():
    cases = _server_cases()
    chassis = {c["inputs"]["server_class"] for c in cases.values() if "server_class" in c["inputs"]}
    assert len(chassis) >= 6 and chassis <= set(power.server_classes())
    assert {i for i, c in cases.items() if c.get("calibrated")} == {"dgx-a100-max-power", "dgx-h100-max-power"}
    for c in cases.values():
        assert c["kind"] == "measurement" and c["source"].strip()


def test_every_catalog_class_is_a_scenario_choice():
    f = next(f for f in FIELDS if f.path == "compute.server_class")
    assert {"dgx-2-v100", "dgx-2h-v100"} <= set(f.choices) and set(f.choices) == {"auto", *power.server_classes()}


def test_dgx2h_minus_dgx2_is_the_gpu_and_cpu_power_through_fans_and_psu():
    """Same parts but 16 GPUs (350 -> 450 W) and 2 CPUs (205 -> 240 W): at full load and 35 degC the
    wall power differs by that heat times (1 + FAN_RATIO) / eta."""
    cases = _server_cases()
    a = SERVER_POWER(**cases["dgx-2-max-power"]["inputs"]).to("W").magnitude
    b = SERVER_POWER(**cases["dgx-2h-max-power"]["inputs"]).to("W").magnitude
    d_gpu = 16 * (catalog.accelerator("V100-SXM3-32GB-450W").tdp - catalog.accelerator("V100-SXM3-32GB").tdp)
    d_heat = d_gpu.to("W").magnitude + 2 * (240.0 - 205.0)
    assert b - a == pytest.approx(d_heat * (1 + power.FAN_RATIO) / 0.94, rel=1e-9)
