import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.errors import ScenarioError
from twin.scenario import list_presets, load_scenario, usable_fraction
from twin.scenario.schema import FIELDS
from twin.units import ureg


def test_presets_listed_in_era_order_with_published_cluster():
    names = list_presets()
    assert names[:3] == ["heterogeneous-2021", "cluster-2023", "superpool-2025"]
    assert "megatron-sc21-a100-3072" in names


@pytest.mark.parametrize("name", ["heterogeneous-2021", "cluster-2023", "superpool-2025", "megatron-sc21-a100-3072"])
def test_presets_load_and_round_trip(name, tmp_path):
    sc = load_scenario(name)
    p = tmp_path / "s.toml"
    p.write_text(sc.to_toml())
    again = load_scenario(p)
    assert again.to_dict() == sc.to_dict()


def test_era_presets_follow_fig_2_2():
    h, c, s = (load_scenario(n) for n in ["heterogeneous-2021", "cluster-2023", "superpool-2025"])
    assert h.compute.topology == "pcie" and h.fabric.nic_speed.to("Gbit/s").magnitude == 25
    assert h.storage.architecture == "separate" and h.energy.cooling == "air" and h.platform.allocation == "bare-metal"
    assert c.compute.cards_per_node == 8 and c.fabric.protocol in ("roce", "infiniband")
    assert c.storage.architecture == "converged" and c.energy.cooling == "air+cold-plate" and c.platform.allocation == "pooled"
    assert s.compute.topology == "s2-switch" and s.compute.domain_size >= 64
    assert s.fabric.protocol == "gse" and s.fabric.nic_speed.to("Gbit/s").magnitude == 400
    assert s.storage.memory_pool.magnitude > 0 and s.energy.cooling == "cold-plate+immersion"


def test_published_cluster_matches_sc21():
    sc = load_scenario("megatron-sc21-a100-3072")
    assert sc.cards == 3072 and sc.compute.accelerator == "A100-SXM4-80GB"
    assert sc.fabric.nics_per_node == 8 and sc.fabric.nic_speed.to("Gbit/s").magnitude == 200
    assert sc.fabric.protocol == "infiniband"


def test_extends_overrides_only_what_it_names():
    sc = load_scenario({"extends": "cluster-2023", "name": "mine", "fabric": {"nic_speed": "400 Gbit/s"}})
    base = load_scenario("cluster-2023")
    assert sc.fabric.nic_speed.to("Gbit/s").magnitude == 400
    assert sc.compute.nodes == base.compute.nodes and sc.name == "mine"


@pytest.mark.parametrize("override,field,words", [
    ({"fabric": {"nic_speed": "400 W"}}, "fabric.nic_speed", "is a power; expected a data rate"),
    ({"fabric": {"nic_sped": "400 Gbit/s"}}, "fabric.nic_sped", "did you mean 'nic_speed'"),
    ({"compute": {"nodes": -4}}, "compute.nodes", "out of range"),
    ({"compute": {"nodes": "4"}}, "compute.nodes", "whole number"),
    ({"compute": {"accelerator": "H100"}}, "compute.accelerator", "H100-SXM5-80GB"),
    ({"compute": {"topology": "oam-fc"}}, "compute.topology", "needs OAM"),
    ({"energy": {"cooling": "aer"}}, "energy.cooling", "did you mean 'air'"),
    ({"energy": {"supply_temperature": "400 K"}}, "energy.supply_temperature", "out of range"),
    ({"storage": {"redundancy": "raid5"}}, "storage.redundancy", "ec-K+M"),
    ({"workload": {"tp": 3}}, "workload.tp", "divid"),
    ({"gpus": 3}, "gpus", "not a known"),
    ({"compute": 3}, "compute", "table"),
])
def test_bad_fields_name_their_path(override, field, words):
    with pytest.raises(ScenarioError) as e:
        load_scenario({"extends": "cluster-2023", **override})
    assert e.value.field == field
    assert words in str(e.value)


def test_extends_unknown_and_cycle():
    with pytest.raises(ScenarioError, match="cluster-2023"):
        load_scenario({"extends": "clster-2023"})
    with pytest.raises(ScenarioError, match="not a known preset"):
        load_scenario("no-such-preset")


def test_usable_fraction():
    assert usable_fraction("replica-3") == pytest.approx(1 / 3)
    assert usable_fraction("ec-4+2") == pytest.approx(0.667, abs=1e-3)
    assert usable_fraction("ec-12+4") == pytest.approx(0.75)


# --- hypothesis: malformed scenarios always give a ScenarioError with the field's path ---------------

_SECTION_FIELDS = [f for f in FIELDS if f.section]
_junk = st.one_of(
    st.none().map(lambda _: []),
    st.integers(min_value=-10**9, max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: x != x or abs(x) > 1e12 or x < 0),
    st.text(alphabet=string.ascii_letters + " /-", min_size=1, max_size=12),
    st.sampled_from(["400 W", "3 kg", "-5 Gbit/s", "1e30 Gbit/s", "12 degC/s", "nan", "", "80 GB"]),
    st.booleans(),
    st.dictionaries(st.text(min_size=1, max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


def _is_valid(field, value):
    try:
        load_scenario({"extends": "cluster-2023", field.section: {field.name: value}})
        return True
    except ScenarioError:
        return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_SECTION_FIELDS), value=_junk)
def test_malformed_field_values_raise_scenario_error_with_path(field, value):
    try:
        load_scenario({"extends": "cluster-2023", field.section: {field.name: value}})
    except ScenarioError as e:
        assert e.field.split(".")[0] in (field.section, "compute", "workload", "catalog")
        assert str(e).startswith(e.field + ":")
        return
    # accepted: then the value must be stored as given, checked, finite and in range (no silent default, no NaN)
    sc = load_scenario({"extends": "cluster-2023", field.section: {field.name: value}})
    stored = getattr(getattr(sc, field.section), field.name)
    if field.kind == "quantity":
        assert stored.check(ureg.Unit(field.unit).dimensionality)
        m = stored.to(field.unit).magnitude
        assert math.isfinite(m) and (field.lo is None or m >= field.lo) and (field.hi is None or m <= field.hi)
    elif field.kind in ("int", "float"):
        assert not isinstance(value, bool) and math.isfinite(stored) and stored == value
        assert (field.lo is None or stored >= field.lo) and (field.hi is None or stored <= field.hi)
    else:
        assert field.kind in ("str", "list:str") and list(stored) == list(value) if isinstance(value, list) else stored == value


@settings(max_examples=150, deadline=None)
@given(section=st.sampled_from(sorted({f.section for f in _SECTION_FIELDS})),
       key=st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=15))
def test_unknown_keys_rejected_with_path(section, key):
    known = {f.name for f in _SECTION_FIELDS if f.section == section}
    if key in known:
        return
    with pytest.raises(ScenarioError) as e:
        load_scenario({"extends": "cluster-2023", section: {key: 1}})
    assert e.value.field == f"{section}.{key}"


@settings(max_examples=100, deadline=None)
@given(doc=st.recursive(st.one_of(st.integers(), st.text(max_size=5), st.floats(allow_nan=True)),
                        lambda c: st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=10))
def test_arbitrary_documents_never_raise_anything_but_scenario_error(doc):
    try:
        sc = load_scenario(doc if isinstance(doc, dict) else {"compute": doc})
    except ScenarioError as exc:  # anything else propagates and fails the test
        assert isinstance(exc.field, str) and str(exc)
    else:
        assert sc.name
