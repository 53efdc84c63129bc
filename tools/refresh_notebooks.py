"""Re-execute every notebook and keep only the outputs nbval compares.

Run after a model change moves a number that a ``# NBVAL_CHECK_OUTPUT`` cell prints:
    python tools/refresh_notebooks.py            # all of notebooks/
    python tools/refresh_notebooks.py notebooks/03_fabric.ipynb
"""
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((root / "notebooks").glob("*.ipynb"))
for p in paths:
    if p.name == "app.ipynb":
        continue  # the served app: Voila executes it; nothing to store
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace", str(p)],
                   check=True, cwd=p.parent)
subprocess.run([sys.executable, str(root / "tools" / "strip_outputs.py"), *map(str, paths)], check=True)
