"""Small pieces the dashboards share: BokehJS bootstrap, figure wrapping, error display."""
from __future__ import annotations

import html
from contextlib import contextmanager

import ipywidgets as W
import numpy as np


#: The BokehJS bundles the dashboards need: plots, glyphs, tools, axes, legends and colour bars
#: are all in the core bundle. Bokeh's default INLINE adds GL, widgets, tables and MathJax
#: (3.9 MB of JavaScript, 8.3 MB once embedded in the page): every session's browser parsed
#: them and never used them, about two thirds of a page's first-render work.
BOKEH_COMPONENTS = ["bokeh"]


def load_bokehjs() -> None:
    """Put BokehJS on the page, inline (no CDN: the app must work air-gapped), core bundle only."""
    from bokeh.io import output_notebook
    from bokeh.resources import Resources

    output_notebook(Resources(mode="inline", components=BOKEH_COMPONENTS), hide_banner=True)


def bokeh_widget(fig):
    """Wrap a Bokeh figure as an ipywidget (jupyter_bokeh.BokehModel)."""
    from jupyter_bokeh.widgets import BokehModel

    return BokehModel(fig)


def error_box(exc: Exception) -> W.HTML:
    """A one-line, human error for a dashboard (no traceback)."""
    return W.HTML(f"<div class='nicc-error' style='color:#b00020'>{html.escape(str(exc))}</div>")


def table_html(rows: list[tuple[str, str]], css_class: str = "nicc-table") -> str:
    body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table class='{css_class}'>{body}</table>"


def palette_colors(values, lo, hi, palette: str = "Viridis256") -> list[str]:
    """Colours of ``values`` on a 256-colour bokeh palette (by name), ``lo`` .. ``hi`` clipped."""
    import bokeh.palettes

    colors = getattr(bokeh.palettes, palette)
    x = np.clip((np.asarray(values, float) - lo) / max(hi - lo, 1e-9), 0, 1)
    return [colors[int(v * 255)] for v in x]


@contextmanager
def quiet(dashboard):
    """Set ``dashboard._busy`` while controls are set programmatically, so its observers skip."""
    dashboard._busy = True
    try:
        yield
    finally:
        dashboard._busy = False
