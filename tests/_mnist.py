"""Where the tests find the real MNIST test files (../shared/data next to the checkout, or
LCORE_MNIST_RAW), and the marker for tests that need them."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST_RAW = Path(
    os.environ.get("LCORE_MNIST_RAW", ROOT.parent / "shared" / "data" / "MNIST" / "raw")
)
needs_mnist = pytest.mark.skipif(
    not (MNIST_RAW / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST test files are not at {MNIST_RAW} (set LCORE_MNIST_RAW)",
)
