"""Keep only the outputs nbval compares (cells marked NBVAL_CHECK_OUTPUT); drop the rest.

The inline BokehJS bundle alone is ~8 MB per notebook; nbval --nbval-lax only compares the
marked cells, so the others need no stored output.  Usage: python tools/strip_outputs.py notebooks/*.ipynb
"""
import sys

import nbformat

for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "NBVAL_CHECK_OUTPUT" not in cell.source:
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") in ("stream", "execute_result")
                            and "application/javascript" not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    print("stripped", path)
