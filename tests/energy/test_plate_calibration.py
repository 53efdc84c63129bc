"""The cold plate's resistance curve is a registered calibration: it names the four points it is
fitted on, and leave-one-out refits it on the other three."""
import pytest

from twin.energy import coldplate
from twin.errors import InputError
from twin.validation import calibrations, leave_one_out, load_cases



def test_the_plate_constant_names_every_calibrated_plate_case():
    cases = {c["id"]: c for c in load_cases() if c.get("quantity") == "energy.plate-resistance"}
    cal = [k for k in calibrations().values() if k.name.startswith("twin.energy.coldplate.plate_fit")]
    assert len(cal) == 1
    assert set(cal[0].cases) == {i for i, c in cases.items() if c.get("calibrated")}
    assert len(cal[0].cases) == sum(1 for *_, used in coldplate.PLATE_POINTS if used)


def test_leave_one_out_refits_the_curve_and_restores_it():
    before = coldplate.plate_fit()
    cases = [c for c in load_cases() if c.get("quantity") == "energy.plate-resistance"]
    rows = [r for r in leave_one_out(cases=cases) if r["constant"].startswith("twin.energy.coldplate.plate_fit")]
    assert len(rows) == 4 and all(r["loo_error"] is not None for r in rows)
    # the refit without a point predicts it worse than (or as well as) the fit that saw it
    assert all(abs(r["loo_error"]) >= abs(r["fitted_error"]) - 1e-9 for r in rows)
    assert max(abs(r["loo_error"]) for r in rows) > 1e-3  # the refits really differ from the fit
    assert coldplate.plate_fit() == before  # restored after each refit


def test_fit_plate_on_the_calibration_points_is_the_model_and_empty_points_are_an_error():
    pts = [(c, v, r) for c, v, r, used in coldplate.PLATE_POINTS if used]
    assert coldplate.fit_plate(pts) == pytest.approx(coldplate.plate_fit(), rel=1e-9)
    with pytest.raises(InputError, match="points"):
        coldplate.fit_plate([])
