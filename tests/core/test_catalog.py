import pint
import pytest

from twin import catalog
from twin.errors import CatalogError

REQUIRED_ACCELERATORS = ["V100-SXM2-32GB", "A100-SXM4-40GB", "A100-SXM4-80GB", "A800-SXM4-80GB", "H100-SXM5-80GB",
                         "H800-SXM5-80GB", "H20-96GB", "B200-SXM6-180GB", "Ascend-910B", "MLU370-X8", "BR100",
                         "Enflame-T20", "Kunlunxin-R300", "Iluvatar-BI-V100"]


def test_required_accelerators_present_with_units_and_sources():
    names = catalog.names("accelerators")
    for n in REQUIRED_ACCELERATORS:
        assert n in names
        a = catalog.accelerator(n)
        assert a.source.strip()
        assert a.form_factor in ("pcie", "sxm", "oam")
        assert a.hbm_capacity.check("[information]") and a.hbm_bandwidth.check("[information]/[time]")
        assert a.peak_fp32.check("[computation]/[time]") and a.tdp.check("[power]")
        assert a.link_family in catalog.names("links")


def test_every_entry_of_every_kind_has_a_source():
    for kind in catalog.kinds():
        for n in catalog.names(kind):
            assert str(catalog.get(kind, n).source).strip(), (kind, n)


def test_required_links_present():
    names = catalog.names("links")
    for n in ["pcie3-x16", "pcie4-x16", "pcie5-x16", "nvlink1", "nvlink2", "nvlink3", "nvlink4", "nvlink5",
              "nvswitch1", "nvswitch2", "nvswitch3", "oam-x16-pcie5phy", "mlu-link", "gcu-lare", "b-link", "hccs",
              "cxl2-x16"]:
        assert n in names


def test_link_bandwidth_derivation():
    # PCIe 4.0 x16: 16 GT/s * 16 lanes * 128/130 / 8 = 31.5 GB/s per direction
    assert catalog.link_bandwidth("pcie4-x16").magnitude == pytest.approx(31.51, rel=1e-3)
    assert catalog.link_bandwidth("pcie4-x16", encoded=False, bidirectional=True).magnitude == pytest.approx(64.0)
    assert catalog.link_bandwidth("nvlink3").to("GB/s").magnitude == pytest.approx(25.0)


def test_unknown_name_lists_closest():
    with pytest.raises(CatalogError) as e:
        catalog.accelerator("H100")
    assert "H100-SXM5-80GB" in str(e.value) and e.value.field == "compute.accelerator"
    with pytest.raises(CatalogError, match="catalog kind"):
        catalog.names("acelerators")


def test_case_insensitive_lookup_and_table():
    assert catalog.accelerator("h100-sxm5-80gb").name == "H100-SXM5-80GB"
    df = catalog.table("accelerators")
    assert "tdp [W]" in df.columns and len(df) >= len(REQUIRED_ACCELERATORS)
