"""Incast fluid models: invariants (hypothesis), kernel vs pure-Python reference, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.fabric import _reference as R
from twin.errors import InputError
from twin.fabric import dcqcn_fixed_point, incast
from twin.fabric.congestion import run_incast

SCHEMES = ["pfc", "dcqcn", "hpcc", "credits", "dgsq", "tcp"]


@settings(max_examples=40, deadline=None, database=None)
@given(scheme=st.sampled_from(SCHEMES), n=st.integers(1, 40), gbps=st.sampled_from([25.0, 100.0, 400.0]),
       size_kb=st.sampled_from([0.0, 50.0, 500.0]), kmin=st.floats(1e3, 50e3), span=st.floats(1e3, 400e3),
       pmax=st.floats(0.001, 1.0), xoff=st.floats(20e3, 1e6))
def test_incast_invariants(scheme, n, gbps, size_kb, kmin, span, pmax, xoff):
    C = gbps * 1e9 / 8
    out = run_incast(scheme, n, C, C, 3e-4, size_kb * 1e3, kmin=kmin, kmax=kmin + span, pmax=pmax,
                     xoff=xoff, xon=xoff * 0.9)
    q, r = out["queue"], out["rates"]
    assert np.all(np.isfinite(q)) and np.all(q >= 0)
    assert np.all(np.isfinite(r)) and np.all(r >= 0) and np.all(r <= C * (1 + 1e-12))
    st_ = out["stats"]
    assert st_["drops"] >= 0 and st_["pause_time"] >= 0 and 0 <= st_["pause_fraction"] <= 1
    # bytes are conserved: sent = delivered + queued + dropped
    sent = out["rate_total"].sum() * 1e-6
    assert sent == pytest.approx(st_["delivered"] + q[-1] + st_["drops"], rel=1e-9, abs=1e-3)
    if scheme != "tcp":
        assert st_["drops"] == 0.0  # PFC with headroom is lossless
    if size_kb > 0 and math.isfinite(st_["completion_time"]):
        assert st_["completion_time"] >= n * size_kb * 1e3 / C * (1 - 1e-9) - 1e-6


@settings(max_examples=12, deadline=None, database=None)
@given(scheme=st.sampled_from(SCHEMES), n=st.integers(1, 12), size_kb=st.sampled_from([0.0, 100.0]))
def test_kernel_matches_python_reference(scheme, n, size_kb):
    C = 100e9 / 8
    a = run_incast(scheme, n, C, C, 2e-4, size_kb * 1e3)
    b = R.run_incast(scheme, n, C, C, 2e-4, size_kb * 1e3)
    assert np.allclose(a["queue"], b["queue"], rtol=1e-9, atol=1e-6)
    assert np.allclose(a["rate_total"], b["rate_total"], rtol=1e-9, atol=1e-3)
    assert a["stats"]["drops"] == pytest.approx(b["stats"]["drops"], abs=1e-3)


def test_dgsq_keeps_fabric_queue_empty_and_dcqcn_beats_pfc_only():
    kw = dict(n_senders=32, capacity="100 Gbit/s", duration="1 ms", message_size="0.3 MB")
    q = {s: incast(s, **kw) for s in ("pfc", "dcqcn", "dgsq")}
    assert float(q["dgsq"]["queue"].max()) < 1.0  # kB
    assert q["dcqcn"].attrs["pause_fraction"] < q["pfc"].attrs["pause_fraction"]
    assert float(q["pfc"]["queue"].max()) > 100.0


def test_dcqcn_simulation_settles_near_fixed_point():
    # an independent check of the simulation against the closed form at N = 4 (not a validation case)
    C = 40e9 / 8
    out = run_incast("dcqcn", 4, C, C, 0.12, 0.0, pfc=False, packet=1e3, lossy_buffer=1e12)
    sim = out["queue"][-40000:].mean() / 1e3
    ana = dcqcn_fixed_point(4, "40 Gbit/s")["queue"].to("kB").magnitude
    assert sim == pytest.approx(ana, rel=0.25)


@pytest.mark.parametrize("kw,field", [
    (dict(kmin=10e3, kmax=5e3), "congestion.kmax"), (dict(pmax=1.5), "congestion.pmax"),
    (dict(xoff=100e3, xon=200e3), "congestion.xon"), (dict(g=0.0), "congestion.g"),
    (dict(eta=1.2), "congestion.eta"), (dict(bogus=1), "congestion.bogus"), (dict(dt=-1e-6), "congestion.dt")])
def test_bad_parameters_name_the_field(kw, field):
    with pytest.raises(InputError) as e:
        run_incast("dcqcn", 4, 1e10, 1e10, 1e-4, **kw)
    assert e.value.field == field


def test_bad_scheme_and_sizes():
    with pytest.raises(InputError) as e:
        run_incast("bbr", 4, 1e10, 1e10, 1e-4)
    assert e.value.field == "fabric.congestion_control"
    with pytest.raises(InputError) as e:
        incast("dcqcn", 0)
    assert e.value.field == "congestion.n_senders"
    with pytest.raises(InputError) as e:
        incast("dcqcn", 4, capacity="100 W")
    assert e.value.field == "congestion.capacity"
