"""segmenter in Python: the whole customer-segmentation workflow of `segmenter run` on a
DataFrame (`segment`), derived tables from logs (`features.rfm`, `features.events`), saved
models (`load_model(...).predict`), and scikit-learn estimators (`KMeans`, `DBSCAN`,
`AgglomerativeClustering`, `KPrototypes`), all running on the Rust engine.

    import segmenter
    seg = segmenter.segment(df)          # pandas, polars, pyarrow, or a path
    seg.segments                         # the rows with their segment
    seg                                  # in Jupyter: the report, inline
"""

from . import datasets, features
from ._segmenter import PanicError, __version__
from ._workflow import Model, Segmentation, load_model, segment

_ESTIMATORS = ("KMeans", "DBSCAN", "AgglomerativeClustering", "KPrototypes")

__all__ = [
    "DBSCAN",
    "AgglomerativeClustering",
    "KMeans",
    "KPrototypes",
    "Model",
    "PanicError",
    "Segmentation",
    "__version__",
    "datasets",
    "features",
    "load_model",
    "segment",
]


def __getattr__(name):
    # The estimators need scikit-learn, imported only when one is used.
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'segmenter' has no attribute {name!r}")
