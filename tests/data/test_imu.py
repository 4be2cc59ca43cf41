"""comodo.data.imu: resampling (against torch), validation, raw-count conversion, CSV parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from comodo.data.imu import STANDARD_GRAVITY, counts_to_si, read_csv_imu, resample, validate_imu
from comodo.errors import ComodoError


@pytest.mark.parametrize("t,length", [(1000, 512), (300, 512), (7, 3), (5, 13), (1, 4)])
def test_linear_matches_torch_interpolate(t, length):
    x = np.random.default_rng(t).normal(size=(6, t)).astype(np.float32)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=length, mode="linear", align_corners=False)
    out = resample(x, length)
    assert out.shape == (6, length) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref[0].numpy(), rtol=1e-5, atol=1e-6)


def test_fourier_and_identity():
    t = np.arange(200) / 200.0
    x = np.stack([np.sin(2 * np.pi * 3 * t), np.cos(2 * np.pi * 5 * t)])  # periodic on the window
    y = resample(x, 100, method="fourier")
    t2 = np.arange(100) / 100.0
    np.testing.assert_allclose(y, np.stack([np.sin(2 * np.pi * 3 * t2), np.cos(2 * np.pi * 5 * t2)]), atol=1e-9)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(resample(x, 200), x)
    assert resample(np.ones((2, 4), np.int16), 8).dtype == np.float32


def test_resample_rejects_bad_arguments():
    with pytest.raises(ComodoError, match="cubic"):
        resample(np.zeros((6, 10)), 5, method="cubic")
    with pytest.raises(ComodoError, match="length"):
        resample(np.zeros((6, 10)), 0)
    with pytest.raises(ComodoError, match=r"\(C, T\)"):
        resample(np.zeros(10), 5)


def test_validate_imu():
    x = np.zeros((6, 50))
    assert validate_imu(x, "ok.npy", 6) is x
    with pytest.raises(ComodoError, match=r"a\.npy.*\(6, T\).*\(5, 50\)"):
        validate_imu(np.zeros((5, 50)), "a.npy", 6)
    x[2, 17] = np.nan
    x[0, 30] = np.inf
    with pytest.raises(ComodoError, match=r"b\.npy: NaN reading at sample 117"):
        validate_imu(x, "b.npy", 6, offset=100)
    x[2, 17] = 0
    with pytest.raises(ComodoError, match="infinite reading at sample 30"):
        validate_imu(x, "c.npy", 6)


def test_counts_to_si():
    counts = np.array([[16384.0], [-8192.0], [0.0], [16.4], [-164.0], [0.0]])
    si = counts_to_si(counts, 16384.0, 16.4)
    np.testing.assert_allclose(si[:, 0], [STANDARD_GRAVITY, -STANDARD_GRAVITY / 2, 0, math.pi / 180, -math.pi / 18, 0])
    with pytest.raises(ComodoError, match="6 channels"):
        counts_to_si(np.zeros((3, 2)), 16384.0, 16.4)


def test_read_csv(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("1,2,3\r\n4,5,6\r\n\r\n")
    np.testing.assert_array_equal(read_csv_imu(plain), [[1, 2, 3], [4, 5, 6]])
    header = tmp_path / "header.csv"
    header.write_text("ax,ay,az\n1,2,3,\n4,5,6,\n")  # trailing commas are tolerated
    np.testing.assert_array_equal(read_csv_imu(header), [[1, 2, 3], [4, 5, 6]])
    spaces = tmp_path / "spaces.txt"
    spaces.write_text("1 2\n3 4\n")
    assert read_csv_imu(spaces).shape == (2, 2)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,3\n4,5\n")
    with pytest.raises(ComodoError, match=r"ragged\.csv: line 2 has 2 columns, expected 3"):
        read_csv_imu(ragged)
    text = tmp_path / "text.csv"
    text.write_text("1,2\n3,x\n")
    with pytest.raises(ComodoError, match=r"text\.csv: line 2 is not numeric"):
        read_csv_imu(text)
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    with pytest.raises(ComodoError, match="no numeric rows"):
        read_csv_imu(empty)
    with pytest.raises(ComodoError, match="not found"):
        read_csv_imu(tmp_path / "missing.csv")
