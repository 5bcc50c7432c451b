"""A tqdm progress bar (notebook widget or terminal) fed by the engine's stage observer."""

from __future__ import annotations

import warnings


class StageBar:
    """Called by the engine as `bar(event, stage_key, stage_label, seconds)`."""

    def __init__(self, total: int):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="segmenter", unit="stage", leave=True)

    def __call__(self, event: str, key: str, label: str, seconds: float) -> None:
        if event == "started":
            self.bar.set_description(label)
        else:
            if self.bar.n + 1 > (self.bar.total or 0):
                self.bar.total = self.bar.n + 1
            self.bar.update(1)

    def close(self) -> None:
        self.bar.total = self.bar.n
        self.bar.set_description("segmented")
        self.bar.refresh()
        self.bar.close()


def expected_stages(options: dict) -> int:
    """Stages a fit reports: schema, clean, encode, cluster, PCA, profile, plus the k sweep
    and the comparison when they run."""
    n = 6
    k = options.get("k", "auto")
    if (k is None or str(k).lower() == "auto") and options.get("algorithm", "kmeans") != "dbscan":
        n += 1
    if options.get("compare"):
        n += 1
    return n


def make_bar(progress, options: dict):
    """A bar when `progress` asks for one and tqdm is installed, else None."""
    if progress is False or progress is None:
        return None
    try:
        return StageBar(expected_stages(options))
    except ImportError:
        if progress is True:
            warnings.warn("progress=True needs tqdm (pip install tqdm); no progress is shown")
        return None
