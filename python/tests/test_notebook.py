"""The example notebook runs end to end: its code cells, in order, in one namespace."""

import json
import os
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "segment-customers.ipynb"


def test_example_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb = json.loads(NOTEBOOK.read_text())
    ns = {"__name__": "__main__"}
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 6
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        exec(compile(source, f"{NOTEBOOK.name}[{i}]", "exec"), ns)  # noqa: S102
    seg = ns["seg"]
    assert seg.k >= 2 and "<iframe" in seg._repr_html_()
    assert os.path.exists("segmenter-out/report.html")
    assert set(ns["scored"]["segment_name"]) <= set(seg.segment_names)
    assert len(set(ns["labels"])) == seg.k
