"""Every library error is a Python exception with the CLI's one-line message."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import segmenter
from segmenter import _segmenter


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})


def test_bad_parameters_are_value_errors_with_the_library_message(small):
    with pytest.raises(ValueError) as e:
        segmenter.segment(small, k_range="5..2", progress=False)
    assert (
        str(e.value) == "k_range 5..2: give a range such as 2..10 (from at least 2, not decreasing)"
    )
    with pytest.raises(ValueError, match=r"^invalid parameter: k must be at least 1$"):
        segmenter.segment(small, k=0, progress=False)
    with pytest.raises(ValueError, match=r"^eps must be a positive distance"):
        segmenter.segment(small, algorithm="dbscan", eps=-0.5, progress=False)
    with pytest.raises(ValueError, match=r"backend.*tpu.*expected one of auto, cpu, gpu"):
        segmenter.segment(small, backend="tpu", progress=False)


def test_unknown_option_is_a_type_error_naming_it(small):
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        segmenter.segment(small, colour="red", progress=False)


def test_unusable_data_is_a_value_error(small):
    with pytest.raises(ValueError, match=r"dataframe: .*distinct row"):
        segmenter.segment(pd.DataFrame({"a": [1.0] * 50, "b": [2.0] * 50}), k=3, progress=False)


def test_unreadable_file_is_an_os_error(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError) as e:
        segmenter.segment(missing, progress=False)
    assert isinstance(e.value, OSError)
    # The message the CLI prints after "segmenter: error: ".
    assert str(e.value) == f"{missing}: cannot read: No such file or directory (os error 2)"
    with pytest.raises(OSError):
        segmenter.load_model(missing)


def test_bad_model_file_is_a_value_error(tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match='no "format": "segmenter-model"'):
        segmenter.load_model(bad)


def test_no_gpu_adapter_is_a_runtime_error():
    # Hiding every Vulkan driver leaves wgpu without an adapter (as the Rust GPU tests do).
    code = (
        "import numpy as np, pandas as pd, segmenter\n"
        "df = pd.DataFrame({'a': np.arange(100.0), 'b': np.arange(100.0) % 7})\n"
        "try:\n"
        "    segmenter.segment(df, k=2, backend='gpu', progress=False)\n"
        "except RuntimeError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    env = dict(os.environ, VK_ICD_FILENAMES="/nonexistent.json", WGPU_BACKEND="vulkan")
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("RuntimeError "), p.stdout + p.stderr
    assert p.stdout.strip().endswith('or use backend="cpu"'), p.stdout


def test_a_panic_becomes_an_exception():
    with pytest.raises(segmenter.PanicError, match="deliberate panic for the test suite") as e:
        _segmenter.panic_for_test()
    assert isinstance(e.value, RuntimeError)


def test_estimator_errors(small):
    with pytest.raises(ValueError, match="invalid parameter: max_iter must be at least 1"):
        segmenter.KMeans(n_clusters=2, max_iter=0).fit(small)
    with pytest.raises(ValueError, match="tol"):
        segmenter.KMeans(n_clusters=2, tol=-1.0).fit(small)
    with pytest.raises(ValueError, match="n_samples=200 should be >= n_clusters=300"):
        segmenter.KMeans(n_clusters=300).fit(small)
    with pytest.raises(ValueError, match="backend"):
        segmenter.KMeans(n_clusters=2, backend="tpu").fit(small)
