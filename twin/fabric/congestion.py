"""Incast congestion: parameters, checks and the wrapper around the fluid kernel.

Default parameters
------------------
DCQCN: CoNEXT'16 defaults (Zhu et al., "ECN or Delay: Lessons Learnt from Analysis of DCQCN
and TIMELY"): Kmin 5 KB, Kmax 200 KB, Pmax 1 %, g = 1/256, tau = 50 us, tau' = 55 us,
T = 55 us, B = 10 MB, R_AI = 40 Mbit/s, 1 KB packets.
HPCC (Li et al., SIGCOMM 2019): eta = 0.95, maxStage = 5; W_AI = (1 - eta) BDP / 100 (the paper
sizes W_AI so the additive increase of many flows fits in the 1 - eta headroom; 100 flows
assumed here).
Credits (Homa, Montazeri et al., SIGCOMM 2018): RTTbytes unscheduled, then grants in SRPT order
to ``overcommit`` senders at once (Homa's overcommitment degree; 7 scheduled priorities).
DGSQ (white paper 3.2.2): senders send only granted bytes; the egress grants its capacity
(``grant_margin`` = 1) shared by the active requesters, one RTT after the request.
PFC: Xoff 256 KB (assumption: a per-port share of a switch buffer), Xon = Xoff - 2 x 9 KB, response
delay 2 us (pause frame, 100 m of fibre each way and the MAC); headroom per ingress port
line x delay + 2 MTU, so the lossless buffer is Xoff + N x headroom.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..units import check_range
from . import _kernels as K

SCHEMES = {"pfc": K.SCHEME_PFC, "dcqcn": K.SCHEME_DCQCN, "hpcc": K.SCHEME_HPCC,
           "credits": K.SCHEME_CREDITS, "dgsq": K.SCHEME_DGSQ, "tcp": K.SCHEME_DCQCN}

DEFAULTS = dict(
    dt=1e-6, rtt=4e-6, kmin=5e3, kmax=200e3, pmax=0.01, xoff=256e3, xon=256e3 - 18e3,
    pfc_delay=2e-6, mtu=9e3, g=1 / 256, tau=50e-6, tau_prime=55e-6, timer=55e-6, byte_counter=10e6,
    rai=40e6 / 8, packet=1e3, eta=0.95, max_stage=5, wai=None, overcommit=7, unscheduled=None,
    min_rate=1e6 / 8, grant_margin=1.0, lossy_buffer=1e6,
)

#: Largest senders x steps kept in memory (per-sender rates are returned: 8 bytes each).
MAX_CELLS = 50_000_000

_RANGES = {  # field: (lo, hi, lo_open)
    "dt": (0.0, 1e-3, True), "rtt": (0.0, 1e-2, True), "kmin": (0.0, 1e9, False), "kmax": (0.0, 1e9, True),
    "pmax": (0.0, 1.0, False), "xoff": (0.0, 1e10, True), "xon": (0.0, 1e10, False), "pfc_delay": (0.0, 1e-3, False),
    "mtu": (64, 65536, False), "g": (0.0, 1.0, True), "tau": (0.0, 1.0, True), "tau_prime": (0.0, 1.0, True),
    "timer": (0.0, 1.0, True), "byte_counter": (0.0, 1e12, True), "rai": (0.0, 1e12, True),
    "packet": (64, 65536, False), "eta": (0.0, 1.0, True), "max_stage": (0, 1000, False), "wai": (0.0, 1e9, True),
    "overcommit": (1, 1024, False), "unscheduled": (0.0, 1e12, False), "min_rate": (0.0, 1e12, True),
    "grant_margin": (0.0, 1.0, True), "lossy_buffer": (0.0, 1e12, True),
}


def build_params(n_senders: int, capacity: float, line_rate: float, *, pfc: bool = True, **kw) -> np.ndarray:
    """Parameter vector of the incast kernel; rates in byte/s, sizes in byte, times in s.

    Raises InputError('congestion.<name>') for a parameter out of range or unknown.
    """
    for k in kw:
        if k not in DEFAULTS:
            raise InputError(f"congestion.{k}", kw[k], "one of " + ", ".join(DEFAULTS), "is not a parameter")
    p = dict(DEFAULTS)
    p.update({k: v for k, v in kw.items() if v is not None})
    if p["wai"] is None:
        p["wai"] = (1 - p["eta"]) * capacity * p["rtt"] / 100.0
    if p["unscheduled"] is None:
        p["unscheduled"] = line_rate * p["rtt"]
    for k, (lo, hi, lo_open) in _RANGES.items():
        check_range(float(p[k]), f"congestion.{k}", lo=lo, hi=hi, lo_open=lo_open)
    if p["kmax"] <= p["kmin"]:
        raise InputError("congestion.kmax", p["kmax"], f"more than kmin ({p['kmin']:g} byte)")
    if p["xon"] > p["xoff"]:
        raise InputError("congestion.xon", p["xon"], f"at most xoff ({p['xoff']:g} byte)")
    check_range(float(capacity), "congestion.capacity", lo=0.0, lo_open=True, unit="byte/s")
    check_range(float(line_rate), "congestion.line_rate", lo=0.0, lo_open=True, unit="byte/s")
    from .topology import as_count

    n = as_count(n_senders, "congestion.n_senders", 1, what="a number of senders")
    prm = np.zeros(K.N_PRM)
    prm[K.P_DT] = p["dt"]
    prm[K.P_C] = capacity
    prm[K.P_LINE] = line_rate
    prm[K.P_RTT] = p["rtt"]
    prm[K.P_KMIN], prm[K.P_KMAX], prm[K.P_PMAX] = p["kmin"], p["kmax"], p["pmax"]
    headroom = line_rate * p["pfc_delay"] + 2 * p["mtu"]
    prm[K.P_XOFF] = p["xoff"] if pfc else 1e30
    prm[K.P_XON] = p["xon"] if pfc else 1e30
    prm[K.P_BUF] = p["xoff"] + n * headroom if pfc else p["lossy_buffer"]
    prm[K.P_PFC] = 1.0 if pfc else 0.0
    prm[K.P_PFCDELAY] = p["pfc_delay"]
    prm[K.P_G], prm[K.P_TAU], prm[K.P_TAUP], prm[K.P_T] = p["g"], p["tau"], p["tau_prime"], p["timer"]
    prm[K.P_B], prm[K.P_RAI], prm[K.P_PKT] = p["byte_counter"], p["rai"], p["packet"]
    prm[K.P_ETA], prm[K.P_MAXSTAGE], prm[K.P_WAI] = p["eta"], p["max_stage"], p["wai"]
    prm[K.P_OVERCOMMIT], prm[K.P_UNSCHED] = p["overcommit"], p["unscheduled"]
    prm[K.P_MINRATE], prm[K.P_GRANTMARGIN] = p["min_rate"], p["grant_margin"]
    return prm


def _incast_setup(scheme: str, n_senders: int, capacity: float, line_rate: float, duration: float,
                  message_size: float, pfc: bool | None, **kw):
    """Checked kernel inputs of the incast model: (scheme code, params, sizes, steps)."""
    if scheme not in SCHEMES:
        raise InputError("fabric.congestion_control", scheme, "one of " + ", ".join(SCHEMES))
    if pfc is None:
        pfc = scheme != "tcp"
    prm = build_params(n_senders, capacity, line_rate, pfc=pfc, **kw)
    check_range(float(duration), "congestion.duration", lo=0.0, hi=10.0, lo_open=True, unit="s")
    check_range(float(message_size), "congestion.message_size", lo=0.0, unit="byte")
    n_steps = max(1, int(round(duration / prm[K.P_DT])))
    n = int(n_senders)
    if n_steps * n > MAX_CELLS:
        raise InputError("congestion.duration", f"{duration:g} s", f"at most {MAX_CELLS:.0e} sender-steps "
                         f"(here {n} senders x {n_steps} steps): a shorter duration, a longer step or fewer senders",
                         "is too long to keep every sender's rate")
    return SCHEMES[scheme], prm, np.full(n, float(message_size)), n_steps


def run_incast(scheme: str, n_senders: int, capacity: float, line_rate: float, duration: float,
               message_size: float = 0.0, *, pfc: bool | None = None, **kw) -> dict:
    """Run the fluid incast model. Rates in byte/s, sizes in byte, times in s.

    ``scheme``: pfc | dcqcn | hpcc | credits | dgsq | tcp (tcp: DCQCN-like ECN reaction on a
    lossy queue, no PFC). ``message_size`` per sender (0: unlimited backlog).
    Returns dict with t, queue, rate_total, rates, stats (see kernel), params.
    """
    code, prm, size, n_steps = _incast_setup(scheme, n_senders, capacity, line_rate, duration, message_size, pfc, **kw)
    n = len(size)
    q = np.empty(n_steps)
    rs = np.empty(n_steps)
    rates = np.empty((n_steps, n))
    stats = np.empty(K.N_STATS)
    K.incast_fluid(code, prm, size, n_steps, q, rs, rates, stats)
    t = (np.arange(n_steps) + 1) * prm[K.P_DT]
    # tail latency: base RTT + 99th percentile of the queueing delay seen by arriving bytes
    w = rs * prm[K.P_DT]
    qd = q / capacity
    if w.sum() > 0:
        order = np.argsort(qd)
        cw = np.cumsum(w[order]) / w.sum()
        p99 = float(qd[order][min(np.searchsorted(cw, 0.99), len(cw) - 1)])
    else:
        p99 = 0.0
    st = {"pause_time": stats[K.S_PAUSE], "drops": stats[K.S_DROPS], "queue_max": stats[K.S_QMAX],
          "completion_time": stats[K.S_DONE], "delivered": stats[K.S_DELIVERED],
          "pause_fraction": stats[K.S_PAUSEFRAC], "edge_backlog_max": stats[K.S_VOQMAX],
          "p99_queueing_delay": p99, "tail_latency": prm[K.P_RTT] + p99}
    return {"t": t, "queue": q, "rate_total": rs, "rates": rates, "stats": st, "params": prm}
