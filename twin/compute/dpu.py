"""DPU offload (white paper 4.3, Fig. 3-15): host cores freed, server power, bare-metal delivery.

Two placements: **cpu-domain** (one DPU replaces the storage- and management-plane NICs under the
CPUs: it runs virtual switching of tenant traffic, the NVMe-oF initiator and the cloud-management
agents) and **gpu-domain** (one DPU per parameter-plane RDMA NIC under the PCIe switches, 1:1;
RDMA is already in NIC hardware, the DPU adds overlay/tenant isolation of the RDMA traffic and
the management agents).

Host cores the infrastructure software takes without a DPU (assumptions, order of magnitude):
``CORES_PER_100G_VSWITCH`` for kernel virtual switching with Geneve/VXLAN encapsulation per
100 Gbit/s of tenant traffic, ``CORES_PER_100G_STORAGE`` for a software NVMe-oF/TCP initiator
per 100 Gbit/s of storage traffic, ``CORES_MANAGEMENT`` for the cloud agents. Kanev et al. (ISCA
2015) measured such "datacenter tax" at 22-27% of all cycles in a warehouse-scale computer.

Power: cores freed x (CPU TDP / cores per CPU) saved, DPU power added, the replaced NICs' power
(``NIC_POWER``) removed. Bare-metal delivery: a PXE install of the OS image against a DPU cloud-
disk boot, the white paper's "delivery efficiency 10x".

References
----------
China Mobile NICC white paper 4.3 and Fig. 3-15; S. Kanev et al., "Profiling a warehouse-scale
computer", ISCA 2015; NVIDIA BlueField-2/-3 datasheets.
"""
from __future__ import annotations

from .. import catalog
from ..errors import InputError
from ..units import magnitude

CORES_PER_100G_VSWITCH = 4.0
CORES_PER_100G_STORAGE = 2.0
CORES_MANAGEMENT = 4.0
#: cores of one host CPU socket (a 32-core Xeon/EPYC of an 8-GPU server; assumption)
CORES_PER_CPU = 32
#: a 100/200G ConnectX-6 class NIC's typical power [W] (NVIDIA ConnectX-6 Dx product brief: about 20 W)
NIC_POWER = 20.0
#: bare-metal delivery: PXE install and configuration of the OS image [min] (assumption) and the
#: white paper's 10x faster delivery with DPU cloud-disk boot
PXE_DELIVERY_MIN = 60.0
DPU_DELIVERY_SPEEDUP = 10.0
PLACEMENTS = ("cpu-domain", "gpu-domain")


def dpu_offload(dpu: str, placement: str = "cpu-domain", *, nic_speed_gbps: float = 200.0, nics_per_node: int = 8,
                storage_gbps: float = 100.0, tenant_gbps: float = 25.0, cpus: int = 2, cpu_tdp_w: float = 300.0) -> dict:
    """Host cores freed, server power change [W] and bare-metal delivery time [min] of a DPU.

    ``storage_gbps`` storage-plane traffic, ``tenant_gbps`` front-end tenant traffic through the virtual
    switch (25 Gbit/s, one 25G port of a heterogeneous-era server; assumption). ``dpu`` "none" gives the software baseline (nothing freed, the PXE delivery time).
    """
    if placement not in PLACEMENTS:
        raise InputError("compute.dpu_placement", placement, "one of " + ", ".join(PLACEMENTS))
    for name, v in (("compute.dpu_nic_speed", nic_speed_gbps), ("compute.dpu_storage", storage_gbps)):
        if not v >= 0:
            raise InputError(name, v, "a bandwidth >= 0 Gbit/s")
    watts_per_core = cpu_tdp_w / CORES_PER_CPU
    if dpu == "none":
        return {"cores_freed": 0.0, "power_delta": 0.0, "delivery_time": PXE_DELIVERY_MIN, "dpus": 0,
                "cores_used_by_infrastructure": CORES_MANAGEMENT + CORES_PER_100G_STORAGE * storage_gbps / 100.0
                + CORES_PER_100G_VSWITCH * tenant_gbps / 100.0}
    d = catalog.get("dpus", dpu, "compute.dpu")
    p_dpu = magnitude(d.power, "W", "dpus.power")
    cap = magnitude(d.network, "Gbit/s", "dpus.network")
    if placement == "cpu-domain":
        n = 1
        freed = (CORES_MANAGEMENT + CORES_PER_100G_STORAGE * min(storage_gbps, cap) / 100.0
                 + CORES_PER_100G_VSWITCH * min(tenant_gbps, cap) / 100.0)
        replaced = 2  # storage-plane and management-plane NICs
    else:
        # RDMA already bypasses the host kernel: the parameter-plane DPUs free the management agents
        # and take the tenant overlay of RDMA traffic (no host cores spent on it either way)
        n = int(nics_per_node)
        freed = CORES_MANAGEMENT
        replaced = n
    freed = min(freed, cpus * CORES_PER_CPU)
    power = n * p_dpu - replaced * NIC_POWER - freed * watts_per_core
    return {"cores_freed": freed, "power_delta": power, "delivery_time": PXE_DELIVERY_MIN / DPU_DELIVERY_SPEEDUP,
            "dpus": n, "cores_used_by_infrastructure": freed}
