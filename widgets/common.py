"""Small pieces the dashboards share: BokehJS bootstrap, figure wrapping, error display."""
from __future__ import annotations

import html

import ipywidgets as W


def load_bokehjs() -> None:
    """Put BokehJS on the page, inline (no CDN: the app must work air-gapped)."""
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(INLINE, hide_banner=True)


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
