"""Parameter checks shared by the estimators and the Dask estimator (no scikit-learn or Dask
import, so either module can use them)."""

import numbers

import numpy as np


def positive_int(name, value, minimum=1):
    """`value` as an int, or a TypeError / ValueError naming `name`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
