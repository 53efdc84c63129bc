"""Catalog-level validation quantities (registered lazily by twin.registry)."""
from __future__ import annotations

from ..validation import register_quantity
from . import accelerator, link_bandwidth


@register_quantity("link-bandwidth", domain="catalog", unit="GB/s")
def _link_bandwidth(link: str, lanes: int | None = None, links: int = 1, bidirectional: bool = True):
    """Bandwidth of ``links`` parallel links of a catalog link type (lane rate x lanes x line code)."""
    return link_bandwidth(link, lanes, bidirectional=bidirectional) * int(links)


@register_quantity("card-p2p-bandwidth", domain="catalog", unit="GB/s")
def _card_p2p(accelerator_name: str, bidirectional: bool = True):
    """A card's total scale-up bandwidth: link bandwidth x its link count."""
    acc = accelerator(accelerator_name, field="inputs.accelerator_name")
    return link_bandwidth(acc.link_family, bidirectional=bidirectional) * int(acc.link_count)
