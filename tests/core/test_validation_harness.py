import json

import pytest

from twin import cli
from twin.validation import load_cases, run_cases


def test_catalog_cases_pass():
    from twin.validation import run_case

    want = ["pcie4-x16-bandwidth", "nvlink4-p2p-bandwidth", "oam-fc-8card-aggregate"]
    # the OAM case is computed from the interconnect topology
    res = {c["id"]: run_case(c) for c in load_cases() if c["id"] in want}
    for cid in ["pcie4-x16-bandwidth", "nvlink4-p2p-bandwidth", "oam-fc-8card-aggregate"]:
        assert cid in res and res[cid].passed, res.get(cid)
    assert res["pcie4-x16-bandwidth"].rel_error == pytest.approx(-1 / 65, rel=1e-6)


def test_all_case_ids_unique_and_sourced():
    cases = load_cases()
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for c in cases:
        assert str(c.get("source", "")).strip(), c["id"]


def test_bad_case_is_reported_not_raised(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('''
[[case]]
id = "bad-inputs"
domain = "catalog"
quantity = "link-bandwidth"
source = "test"
kind = "consistency"
inputs = { link = "pcie9-x16" }
expected = "64 GB/s"
tolerance = 0.03

[[case]]
id = "unknown-quantity"
domain = "catalog"
quantity = "link-bandwith"
source = "test"
kind = "consistency"
expected = "1 GB/s"

[[case]]
id = "wrong-kwarg"
domain = "catalog"
quantity = "link-bandwidth"
source = "test"
kind = "consistency"
inputs = { lnk = "pcie4-x16" }
expected = "1 GB/s"

[[case]]
id = "absolute-tolerance"
domain = "catalog"
quantity = "link-bandwidth"
source = "test"
kind = "consistency"
inputs = { link = "pcie4-x16" }
expected = "64 GB/s"
tolerance = "0.5 GB/s"
''')
    res = {r.id: r for r in run_cases([f], domain="catalog")}
    assert not res["bad-inputs"].passed and "pcie9-x16" in res["bad-inputs"].error
    assert not res["unknown-quantity"].passed and "link-bandwidth" in res["unknown-quantity"].error
    assert not res["wrong-kwarg"].passed and "lnk" in res["wrong-kwarg"].error
    # 63.0 GB/s against 64 +- 0.5: outside the absolute tolerance
    assert res["absolute-tolerance"].error is None and not res["absolute-tolerance"].passed


def test_cli_validate_json_and_exit_status(tmp_path, capsys):
    assert cli.main(["validate", "--domain", "catalog", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"id", "domain", "quantity", "source", "expected", "predicted", "unit", "rel_error", "tolerance", "passed"}
    assert out and all(keys <= set(r) for r in out)
    f = tmp_path / "fail.toml"
    f.write_text('[[case]]\nid = "x"\ndomain = "catalog"\nquantity = "link-bandwidth"\nsource = "t"\nkind = "consistency"\n'
                 'inputs = { link = "pcie4-x16" }\nexpected = "128 GB/s"\ntolerance = 0.01\n')
    assert cli.main(["validate", "--domain", "catalog", "--cases", str(f)]) == 1
    assert "1 failed" in capsys.readouterr().out


def test_known_gap_is_reported_and_strict(tmp_path, capsys):
    f = tmp_path / "gap.toml"
    base = ('[[case]]\nid = "{id}"\ndomain = "catalog"\nquantity = "link-bandwidth"\nsource = "t"\n'
            'kind = "measurement"\ninputs = {{ link = "pcie4-x16" }}\nexpected = "{exp}"\ntolerance = 0.01\n'
            'known_gap = "model lacks X"\ngap_bound = 0.6\n')
    f.write_text(base.format(id="gap-open", exp="128 GB/s"))
    res = run_cases([f], domain="catalog")
    gap = next(r for r in res if r.id == "gap-open")
    assert gap.status == "known gap" and gap.ok and not gap.passed and gap.rel_error == pytest.approx(-0.5077, rel=1e-3)
    assert cli.main(["validate", "--domain", "catalog", "--cases", str(f)]) == 0
    assert "1 known gaps" in capsys.readouterr().out
    # a known gap that now passes fails the run until the mark is removed
    f.write_text(base.format(id="gap-closed", exp="63 GB/s"))
    closed = next(r for r in run_cases([f], domain="catalog") if r.id == "gap-closed")
    assert closed.status == "gap closed" and not closed.ok
    assert cli.main(["validate", "--domain", "catalog", "--cases", str(f)]) == 1


def test_offset_temperature_errors_are_absolute_and_kelvin_relative():
    from twin.validation import _is_offset

    assert _is_offset("degC") and not _is_offset("K") and not _is_offset("GB/s") and not _is_offset("")
    res = {r.id: r for r in run_cases(domain="energy")}
    r = res["latif2025-h100-liquid-gpu-temperature"]
    assert r.abs_error == pytest.approx(r.predicted - r.expected)
    assert r.rel_error == pytest.approx((r.predicted - r.expected) / (r.expected + 273.15))


# --- issue 14 bookkeeping: kind, gap bound, constant baseline, leave-one-out -----------------

_CASE = ('[[case]]\nid = "{id}"\ndomain = "catalog"\nquantity = "link-bandwidth"\nsource = "t"\n{extra}'
         'inputs = {{ link = "pcie4-x16" }}\nexpected = "{exp}"\ntolerance = 0.01\n')


def test_every_case_has_a_kind_and_every_gap_a_bound():
    from twin.validation import KINDS

    for c in load_cases():
        assert c.get("kind") in KINDS, c["id"]
        if c.get("known_gap"):
            assert "gap_bound" in c, c["id"]


def test_missing_kind_or_gap_bound_is_an_error_naming_the_field(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text(_CASE.format(id="no-kind", extra="", exp="63 GB/s")
                 + _CASE.format(id="bad-kind", extra='kind = "guess"\n', exp="63 GB/s")
                 + _CASE.format(id="no-bound", extra='kind = "measurement"\nknown_gap = "x"\n', exp="128 GB/s"))
    res = {r.id: r for r in run_cases([f], domain="catalog")}
    assert res["no-kind"].status == "error" and "kind" in res["no-kind"].error
    assert res["bad-kind"].status == "error" and "guess" in res["bad-kind"].error
    assert res["no-bound"].status == "error" and "gap_bound" in res["no-bound"].error


def test_gap_past_its_bound_fails(tmp_path, capsys):
    f = tmp_path / "g.toml"
    gap = 'kind = "measurement"\nknown_gap = "model lacks X"\ngap_bound = {b}\n'
    # the model gives 63 GB/s for PCIe 4.0 x16: against 128 GB/s that is -50.8%
    f.write_text(_CASE.format(id="inside", extra=gap.format(b=0.6), exp="128 GB/s")
                 + _CASE.format(id="widened", extra=gap.format(b=0.3), exp="128 GB/s")
                 + _CASE.format(id="abs-bound", extra=gap.format(b='"70 GB/s"'), exp="128 GB/s"))
    res = {r.id: r for r in run_cases([f], domain="catalog")}
    assert res["inside"].status == "known gap" and res["inside"].ok
    assert res["widened"].status == "gap widened" and not res["widened"].ok
    assert res["abs-bound"].status == "known gap"
    assert cli.main(["validate", "--domain", "catalog", "--cases", str(f)]) == 1
    assert "GAP WIDENED" in capsys.readouterr().out


def _result(i, expected, predicted, quantity="q", kind="measurement", domain="d", gap=""):
    from twin.validation import CaseResult

    return CaseResult(id=f"c{i}", domain=domain, quantity=quantity, source="s", expected=expected, predicted=predicted,
                      unit="GB/s", rel_error=(predicted - expected) / expected, tolerance="0.1", passed=True,
                      kind=kind, known_gap=gap, gap_bound="0.5" if gap else "")


def test_constant_baseline_flags_a_model_no_better_than_the_median():
    from twin.validation import constant_baseline, domain_fidelity

    spread = [50.0, 100.0, 200.0, 400.0, 800.0]
    good = [_result(i, e, e * (1.05 if i % 2 else 0.95), "good") for i, e in enumerate(spread)]
    flat = [_result(i, e, 200.0, "flat") for i, e in enumerate(spread)]            # a constant model
    few = [_result(i, e, e, "few") for i, e in enumerate(spread[:4])]              # < 5 cases: no row
    cons = [_result(i, e, 3 * e, "good", kind="consistency") for i, e in enumerate(spread)]
    rows = {b["quantity"]: b for b in constant_baseline(good + flat + few + cons)}
    assert set(rows) == {"good", "flat"}
    med = 200.0
    base = sum(abs(med - e) / e for e in spread) / 5
    assert rows["good"]["median"] == med and rows["good"]["baseline_error"] == pytest.approx(base)
    assert rows["good"]["model_error"] == pytest.approx(0.05) and not rows["good"]["flagged"]
    assert rows["flat"]["flagged"] and rows["flat"]["ratio"] == pytest.approx(1.0)
    # fidelity counts measurements only, known gaps apart
    dom = domain_fidelity(good + cons + [_result(9, 100.0, 300.0, "good", gap="why")])[0]
    assert dom["measurements"] == 5 and dom["consistency"] == 5 and dom["known_gaps"] == 1
    assert dom["max_abs_error"] == pytest.approx(0.05)


def test_leave_one_out_refits_without_the_case(tmp_path):
    """A toy constant K fitted on three cases (K = mean of published / x): the leave-one-out
    error of each is the error of K refit on the other two."""
    import contextlib

    from twin import validation as v
    from twin.units import Q_

    box = {"K": 2.0}

    @v.register_quantity("test.scaled", domain="test", unit="GB/s")
    def _scaled(x: float):
        return Q_(box["K"] * x, "GB/s")

    def refit(train):
        k = sum(float(c["expected"].split()[0]) / c["inputs"]["x"] for c in train) / len(train)
        return v.patched(box, "K", k)

    pub = {1.0: 2.0, 2.0: 4.4, 4.0: 7.6}          # published values (GB/s) at x
    cases = [{"id": f"toy-{x}", "domain": "test", "quantity": "test.scaled", "source": "t", "kind": "measurement",
              "inputs": {"x": x}, "expected": f"{y} GB/s", "tolerance": 0.2, "calibrated": True} for x, y in pub.items()]
    try:
        v.register_calibration("test.K", domain="test", cases=[c["id"] for c in cases], refit=refit)
        rows = {r["case"]: r for r in v.leave_one_out(cases=cases) if r["constant"] == "test.K"}
        for x, y in pub.items():
            others = [pub[o] / o for o in pub if o != x]
            k = sum(others) / len(others)
            assert rows[f"toy-{x}"]["loo_error"] == pytest.approx((k * x - y) / y)
            assert rows[f"toy-{x}"]["fitted_error"] == pytest.approx((2.0 * x - y) / y)
        assert box["K"] == 2.0                      # restored after each refit
        # a calibrated case that no constant names is listed
        orphan = dict(cases[0], id="orphan")
        rows = v.leave_one_out(cases=[orphan])
        assert any(r["case"] == "orphan" and r["constant"] == "(none registered)" for r in rows)
    finally:
        v._CALIBRATIONS.pop("test.K", None)
        v._QUANTITIES.pop("test.scaled", None)


def test_cli_validate_prints_fidelity_baseline_and_loo(capsys):
    assert cli.main(["validate", "--domain", "interconnect"]) == 0
    out = capsys.readouterr().out
    assert "Fidelity on measurements" in out and "Constant baseline" in out and "leave-one-out" in out


def _range_case(rng, tolerance=0.1):
    lo, hi = rng if isinstance(rng, list) and len(rng) == 2 else (20.0, 40.0)
    return {"id": "range", "domain": "catalog", "quantity": "link-bandwidth", "source": "test",
            "kind": "measurement", "inputs": {"link": "pcie4-x16"}, "expected": f"{(lo + hi) / 2} GB/s",
            "expected_range": [f"{v} GB/s" for v in rng] if isinstance(rng, list) else rng, "tolerance": tolerance}


def test_a_published_range_scores_zero_inside_and_the_nearer_bound_outside():
    from twin.validation import constant_baseline, run_case

    pred = run_case(_range_case([1.0, 1000.0])).predicted  # the PCIe 4.0 x16 link, both directions
    inside = run_case(_range_case([0.5 * pred, 1.5 * pred]))
    assert inside.error is None and inside.passed and inside.rel_error == 0.0 and inside.abs_error == 0.0
    below = run_case(_range_case([0.2 * pred, 0.5 * pred], tolerance=0.01))  # the prediction is above it
    assert below.predicted == pred and below.rel_error == pytest.approx(1.0) and not below.passed
    above = run_case(_range_case([1.25 * pred, 2.0 * pred], tolerance=0.3))
    assert above.rel_error == pytest.approx(-0.2) and above.passed
    assert above.to_dict()["expected_range"] == pytest.approx([1.25 * pred, 2.0 * pred])
    # the constant baseline is scored against the ranges as the model is: the median of the
    # centres lies inside every one of these ranges
    rows = constant_baseline([inside] * 5, min_cases=5)
    assert rows[0]["baseline_error"] == 0.0


@pytest.mark.parametrize("rng", [["40 GB/s"], ["40 GB/s", "20 GB/s"], ["10 GB/s", "40 GB/s"], "20-40 GB/s"])
def test_a_bad_range_is_a_case_error_naming_the_field(rng):
    from twin.validation import run_case

    case = _range_case([20.0, 40.0])  # expected 30 GB/s at the centre of 20-40
    case["expected_range"] = rng  # one bound, reversed, 30 not the centre of 10-40, a string
    r = run_case(case)
    assert r.status == "error" and "expected_range" in r.error
