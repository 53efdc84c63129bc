"""NICC Twin: an open, interactive digital twin of an AI computing centre.

Built on China Mobile's NICC (New Intelligent Computing Center) technology-framework white
paper: five domains (interconnect, compute efficiency, storage, platform, energy) across
three eras (heterogeneous to 2021, cluster 2022-24, super-pooling from 2025).

The main entries::

    from twin import Twin, load_scenario, ureg, Q_
    twin = Twin("cluster-2023")     # state as an xarray.DataTree
"""
from .errors import CatalogError, InputError, ScenarioError, TwinError
from .units import Q_, ureg
from .scenario import list_presets, load_scenario

__version__ = "0.1.0"


def __getattr__(name):  # Twin pulls in xarray's DataTree machinery: import it on first use
    if name == "Twin":
        from .core import Twin

        return Twin
    raise AttributeError(name)


__all__ = ["Twin", "load_scenario", "list_presets", "ureg", "Q_", "TwinError", "InputError", "ScenarioError", "CatalogError"]
