"""ipywidgets + Bokeh dashboards of NICC Twin: the app shell and one tab per white-paper domain."""
