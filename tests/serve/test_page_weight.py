"""What every session's browser must parse before the app shows: BokehJS is inline (the app
works air-gapped), so only the bundles the dashboards use may be on the page."""
from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell

from widgets.common import BOKEH_COMPONENTS, load_bokehjs


def _published_javascript() -> str:
    shell = InteractiveShell.instance()
    sent = []
    shell.display_pub.publish = lambda data, *a, **k: sent.append(data)
    try:
        load_bokehjs()
    finally:
        InteractiveShell.clear_instance()
    return "".join(d.get("application/javascript", "") for d in sent)


def test_only_the_core_bokehjs_bundle_goes_inline():
    js = _published_javascript()
    assert BOKEH_COMPONENTS == ["bokeh"]
    assert "Bokeh" in js
    # the unused bundles (MathJax alone is 1.8 MB) stay off the page
    for unused in ("bokeh-mathjax", "bokeh-tables", "bokeh-widgets", "bokeh-gl"):
        assert f'"{unused}"' not in js and f"{unused}.min.js" not in js
    assert len(js.encode()) < 2.0e6, f"{len(js.encode()) / 1e6:.1f} MB of JavaScript inline"
