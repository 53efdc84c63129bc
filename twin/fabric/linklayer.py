"""Link layer: FEC latency (accumulation, decode, detect-then-correct bypass, flexible FEC),
MACsec/PHYSec overhead, port and optics power (pluggable DSP, LPO, CPO).

Plain-float functions in SI units; the public wrappers in ``twin.fabric`` attach units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError
from ..units import check_range


@dataclass(frozen=True)
class RSCode:
    """Reed-Solomon code over GF(2^m): n symbols, k data symbols, m bits per symbol."""

    name: str
    n: int
    k: int
    m: int = 10

    @property
    def t(self) -> int:
        """Correctable symbol errors per codeword, (n - k) / 2."""
        return (self.n - self.k) // 2

    @property
    def bits(self) -> int:
        return self.n * self.m


#: Ethernet RS codes (IEEE 802.3 cl. 91 / 119; 25G Ethernet Consortium low-latency RS(272,258)).
CODES = {
    "none": None,
    "rs272": RSCode("RS(272,258)", 272, 258),      # 25G/50G Ethernet Consortium low-latency FEC
    "rs528": RSCode("RS(528,514)", 528, 514),      # 100GBASE-KR4 / CR4 / SR4 ("KR4")
    "rs544": RSCode("RS(544,514)", 544, 514),      # 100GBASE-KP4, 200G/400G/800G PAM4 ("KP4")
}

#: Decode pipeline: Berlekamp-Massey takes about 2t iterations; plus syndrome, Chien search and
#: Forney stages. Modelled as (2 t + DECODE_FIXED_CYCLES) cycles of DECODE_CLOCK. Assumption
#: chosen so that RS(544,514) at 100G totals ~100 ns (accumulation 51 ns + decode 50 ns),
#: within the 100-120 ns transceivers cite for encode+decode (Sella, Moore, Zilberman,
#: "FEC Killed the Cut-Through Switch", NetCompute 2018; IEEE 802.3dj he_3dj_01_2401).
DECODE_CLOCK = 1.0e9        # [Hz]
DECODE_FIXED_CYCLES = 20    # syndrome + Chien/Forney pipeline [cycles]
DETECT_CYCLES = 4           # syndrome-is-zero check in the bypass path [cycles]


def fec_accumulation_time(code: str, lane_rate_total: float) -> float:
    """Time to receive one codeword [s] at the aggregate FEC-lane rate [bit/s]: n m / R."""
    c = _code(code)
    if c is None:
        return 0.0
    check_range(lane_rate_total, "fec.rate", lo=0, lo_open=True, unit="bit/s")
    return c.bits / lane_rate_total


def fec_decode_time(code: str) -> float:
    """Decode pipeline latency [s] after the codeword has arrived (model above)."""
    c = _code(code)
    if c is None:
        return 0.0
    return (2 * c.t + DECODE_FIXED_CYCLES) / DECODE_CLOCK


def codeword_error_ratio(code: str, ber: float) -> float:
    """Probability a codeword has more than t symbol errors (independent bit errors)."""
    check_range(ber, "fec.ber", lo=0.0, hi=0.5)
    c = _code(code)
    if c is None:
        # no FEC: a 5440-bit block (reference length) is in error if any bit is
        return -math.expm1(5440 * math.log1p(-ber)) if ber > 0 else 0.0
    ps = -math.expm1(c.m * math.log1p(-ber)) if ber > 0 else 0.0
    if ps == 0.0:
        return 0.0
    # P(X > t), X ~ Binomial(n, ps), summed in logs for the small tail
    total = 0.0
    for j in range(c.t + 1, c.n + 1):
        lt = (math.lgamma(c.n + 1) - math.lgamma(j + 1) - math.lgamma(c.n - j + 1)
              + j * math.log(ps) + (c.n - j) * math.log1p(-ps))
        term = math.exp(lt)
        total += term
        if term < total * 1e-16 and j > c.t + 5:
            break
    return min(total, 1.0)


def fec_latency(code: str, rate: float, *, bypass: bool = False, ber: float = 0.0) -> float:
    """Average FEC latency [s] of one link end.

    Without bypass: accumulation of one codeword plus decode, t = n m / R + t_dec.
    With the white paper's detect-then-correct bypass, a codeword found error-free (probability
    P0 = (1 - BER)^(n m)) is forwarded after the syndrome check only; otherwise it is decoded:
    t = P0 t_det + (1 - P0)(n m / R + t_dec).
    """
    check_range(rate, "fec.rate", lo=0, lo_open=True, unit="bit/s")
    c = _code(code)
    if c is None:
        return 0.0
    full = fec_accumulation_time(code, rate) + fec_decode_time(code)
    if not bypass:
        return full
    check_range(ber, "fec.ber", lo=0.0, hi=0.5)
    p0 = math.exp(c.bits * math.log1p(-ber)) if ber > 0 else 1.0
    t_det = DETECT_CYCLES / DECODE_CLOCK
    return p0 * t_det + (1.0 - p0) * full


def flexible_fec(ber: float, target_cer: float = 1e-10, choices=("none", "rs272", "rs528", "rs544")) -> str:
    """Flexible FEC: the lightest code whose codeword error ratio meets ``target_cer`` at ``ber``.

    Codes are tried in order of strength (latency); raises InputError('fec.ber') if none is
    strong enough.
    """
    check_range(ber, "fec.ber", lo=0.0, hi=0.5)
    check_range(target_cer, "fec.target", lo=0.0, hi=1.0, lo_open=True)
    for name in choices:
        if codeword_error_ratio(name, ber) <= target_cer:
            return name
    raise InputError("fec.ber", ber, f"a pre-FEC bit error ratio that {choices[-1]} can correct to {target_cer:g}",
                     "is too high for every code")


def _code(code: str):
    if code not in CODES:
        raise InputError("fec.code", code, "one of " + ", ".join(CODES), "is not a known FEC code")
    return CODES[code]


# ---------------------------------------------------------------------------------------------
# Encryption overhead

#: Per-frame overhead [byte]: MACsec SecTAG 16 (with SCI) + ICV 16 (IEEE 802.1AE);
#: PHYSec encrypts below the MAC with no per-frame tag (overhead in reserved PCS/FEC bits),
#: modelled as zero bytes per frame plus a fixed pipeline latency.
SEC_OVERHEAD_BYTES = {"none": 0, "macsec": 32, "physec": 0}
#: Pipeline latency per end [s] (AES-GCM engines in line-rate MAC/PHY; vendor figures are in the
#: tens of ns; assumption, see module notes).
SEC_LATENCY = {"none": 0.0, "macsec": 40e-9, "physec": 20e-9}
ETH_OVERHEAD_BYTES = 20 + 18  # preamble+SFD+IFG 20, header+FCS 18


def encryption_efficiency(mode: str, payload_bytes: float) -> float:
    """Goodput fraction of the line rate for frames carrying ``payload_bytes`` of payload.

    eta = P / (P + 38 + s), s = per-frame security overhead (MACsec 32 B, PHYSec 0 B).
    """
    if mode not in SEC_OVERHEAD_BYTES:
        raise InputError("fabric.encryption", mode, "one of " + ", ".join(SEC_OVERHEAD_BYTES))
    check_range(payload_bytes, "fabric.mtu", lo=46, hi=9216, unit="byte")
    return payload_bytes / (payload_bytes + ETH_OVERHEAD_BYTES + SEC_OVERHEAD_BYTES[mode])


# ---------------------------------------------------------------------------------------------
# Protocol efficiency (payload / wire bytes per packet at a full MTU)

#: (payload bytes, per-packet overhead bytes on the wire) per fabric protocol:
#: Ethernet/TCP: 1500-byte MTU, 1448 B payload (IPv4 20 + TCP 32 with timestamps), Ethernet
#: header+FCS 18 and preamble+SFD+IFG 20 (IEEE 802.3; RFC 791/793/7323).
#: RoCEv2 (and GSE, NIC-transparent RoCE): 4096 B payload, Eth 18 + IPv4 20 + UDP 8 + BTH 12 +
#: ICRC 4 + preamble/IFG 20 (IBTA RoCEv2 Annex A17). InfiniBand: 4096 B payload, LRH 8 + BTH 12 +
#: ICRC 4 + VCRC 2 (IBTA Vol. 1).
PROTOCOL_FRAMING = {"ethernet": (1448, 1538 - 1448), "roce": (4096, 82), "gse": (4096, 82), "infiniband": (4096, 26)}


def protocol_efficiency(protocol: str) -> float:
    """Payload fraction of the line rate for full-size packets of a protocol."""
    if protocol not in PROTOCOL_FRAMING:
        raise InputError("fabric.protocol", protocol, "one of " + ", ".join(PROTOCOL_FRAMING))
    p, o = PROTOCOL_FRAMING[protocol]
    return p / (p + o)
