"""Dataset loading for pretraining: IDX and CIFAR-10 pickle readers, the fixed split."""

import gzip
import hashlib
import pickle
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

from _mnist import MNIST_RAW, needs_mnist  # noqa: E402

from lcore.pretrain.data import (  # noqa: E402
    load_cifar10,
    load_mnist,
    prepare,
    read_cifar10_batch,
    read_idx,
)


@needs_mnist
def test_read_idx_matches_published_md5_and_torchvision(tmp_path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    images = read_idx(MNIST_RAW / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST_RAW / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,)
    raw_img = gzip.open(MNIST_RAW / "t10k-images-idx3-ubyte.gz").read()
    raw_lbl = gzip.open(MNIST_RAW / "t10k-labels-idx1-ubyte.gz").read()
    assert hashlib.md5(raw_img).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    assert hashlib.md5(raw_lbl).hexdigest() == "27ae3e4e09519cfbb04c329615203637"
    # torchvision's own IDX reader on the uncompressed files is the independent reference
    (tmp_path / "img").write_bytes(raw_img)
    (tmp_path / "lbl").write_bytes(raw_lbl)
    np.testing.assert_array_equal(images, read_image_file(str(tmp_path / "img")).numpy())
    np.testing.assert_array_equal(labels, read_label_file(str(tmp_path / "lbl")).numpy())
    # uncompressed files read the same
    np.testing.assert_array_equal(read_idx(tmp_path / "img"), images)


@needs_mnist
@pytest.mark.parametrize("layout", ["flat", "raw", "MNIST/raw"])
def test_load_mnist_layouts_and_class_counts(tmp_path, layout):
    folder = tmp_path if layout == "flat" else tmp_path / layout
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(MNIST_RAW / name, folder / name)
    images, labels = load_mnist(tmp_path, split="test")
    assert images.shape == (10000, 28, 28) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                            1009]


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*not found"):
        load_mnist(tmp_path, split="train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_mnist(tmp_path, split="val")


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(tmp_path / "bad")
    # header says 2 x 3 uint8 but only 5 bytes follow
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x02" + (2).to_bytes(4, "big")
                                     + (3).to_bytes(4, "big") + b"\x00" * 5)
    with pytest.raises(ValueError, match="needs 18"):
        read_idx(tmp_path / "short")


def test_read_idx_big_endian_ints(tmp_path):
    want = np.array([[1, -2, 70000]], dtype=">i4")
    (tmp_path / "ints").write_bytes(b"\x00\x00\x0c\x02" + (1).to_bytes(4, "big")
                                    + (3).to_bytes(4, "big") + want.tobytes())
    got = read_idx(tmp_path / "ints")
    np.testing.assert_array_equal(got, want.astype(np.int32))
    assert got.dtype == np.int32


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING), as CIFAR-10's own Python 2 files do.

    Python 3 then reads those as bytes with ``encoding="bytes"`` and as str with
    ``encoding="latin1"`` (what torchvision uses), exactly as with the real files.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        self.write(pickle.BINSTRING + len(obj).to_bytes(4, "little") + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _dump_py2(obj, path):
    with open(path, "wb") as f:
        _Py2Pickler(f, protocol=2).dump(obj)


def _write_cifar_batch(path, rng, n, label="training batch"):
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    d = {
        b"batch_label": label.encode(),
        b"labels": labels,
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    _dump_py2(d, path)
    return data, np.array(labels)


@pytest.fixture
def cifar_root(tmp_path):
    rng = np.random.default_rng(7)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    parts = [_write_cifar_batch(folder / f"data_batch_{i}", rng, 6) for i in (1, 2)]
    test = _write_cifar_batch(folder / "test_batch", rng, 5, "testing batch")
    _dump_py2({b"label_names": [f"c{i}".encode() for i in range(10)],
               b"num_cases_per_batch": 6, b"num_vis": 3072}, folder / "batches.meta")
    return tmp_path, parts, test


def test_read_cifar10_batch_pixel_layout(cifar_root):
    root, parts, _ = cifar_root
    images, labels = read_cifar10_batch(root / "cifar-10-batches-py" / "data_batch_1")
    data, want_labels = parts[0]
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, want_labels)
    # CIFAR-10's layout: 1024 red, then 1024 green, then 1024 blue values, row-major
    for i, r, c, ch in [(0, 0, 0, 0), (1, 5, 7, 1), (5, 31, 31, 2), (3, 10, 0, 2)]:
        assert images[i, r, c, ch] == data[i, ch * 1024 + r * 32 + c]


def test_load_cifar10_matches_torchvision(cifar_root, monkeypatch):
    from torchvision import datasets

    root, parts, test = cifar_root
    images, labels = load_cifar10(root, split="train")
    assert images.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(labels, np.concatenate([p[1] for p in parts]))
    timages, tlabels = load_cifar10(root / "cifar-10-batches-py", split="test")
    np.testing.assert_array_equal(tlabels, test[1])
    # torchvision's CIFAR10 class parses the same files (its md5 check cannot pass on them)
    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(datasets.CIFAR10, "train_list",
                        [["data_batch_1", None], ["data_batch_2", None]])
    monkeypatch.setattr(datasets.CIFAR10, "meta",
                        {"filename": "batches.meta", "key": "label_names", "md5": None})
    ref = datasets.CIFAR10(str(root), train=True, download=False)
    np.testing.assert_array_equal(images, ref.data)
    np.testing.assert_array_equal(labels, np.array(ref.targets))


def test_cifar10_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10 train batches"):
        load_cifar10(tmp_path, split="train")
    with open(tmp_path / "not_a_batch", "wb") as f:
        pickle.dump({b"stuff": 1}, f)
    with pytest.raises(ValueError, match="needs keys 'data' and 'labels'"):
        read_cifar10_batch(tmp_path / "not_a_batch")
    with open(tmp_path / "bad_shape", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"'data' must have shape \(n, 3072\)"):
        read_cifar10_batch(tmp_path / "bad_shape")
    with open(tmp_path / "list", "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(ValueError, match="no dict inside"):
        read_cifar10_batch(tmp_path / "list")


def _toy(n=50, side=28, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, side, side) if channels is None else (n, side, side, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8), rng.integers(0, 10, size=n)


def test_prepare_split_is_fixed_and_disjoint():
    images, labels = _toy()
    a = prepare(images, labels, n_train=30, n_val=15, seed=3)
    b = prepare(images, labels, n_train=30, n_val=15, seed=3)
    c = prepare(images, labels, n_train=30, n_val=15, seed=4)
    assert a.x_train.shape == (30, 1, 28, 28) and a.x_val.shape == (15, 1, 28, 28)
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    perm = np.random.default_rng(3).permutation(50)
    np.testing.assert_array_equal(a.y_train, labels[perm[:30]])
    np.testing.assert_array_equal(a.y_val, labels[perm[30:45]])
    assert a.meta["val_class_counts"] == np.bincount(labels[perm[30:45]]).tolist()
    # standardized with the training part's statistics
    assert abs(float(a.x_train.mean())) < 1e-5
    assert float(a.x_train.std()) == pytest.approx(1.0, rel=1e-4)


def test_prepare_area_resize_is_block_mean():
    images, labels = _toy(n=20)
    ds = prepare(images, labels, n_train=10, n_val=10, size=14, seed=0)
    perm = np.random.default_rng(0).permutation(20)
    x = images[perm[:10]].astype(np.float64) / 255.0
    blocks = x.reshape(10, 14, 2, 14, 2).mean(axis=(2, 4))
    want = (blocks - blocks.mean()) / blocks.std()
    np.testing.assert_allclose(ds.x_train[:, 0], want, atol=1e-4)
    assert ds.meta["resize"] == "area" and ds.in_shape == (1, 14, 14)


def test_prepare_color_channels_last_and_growing():
    images, labels = _toy(n=12, side=8, channels=3)
    ds = prepare(images, labels, n_train=8, n_val=4, size=16)
    assert ds.x_train.shape == (8, 3, 16, 16) and ds.meta["resize"] == "bilinear"
    assert len(ds.meta["mean"]) == 3


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n_val=0), r"n_val must be an int in \[1, n-1\]"),
        (dict(n_val=50), r"n_val must be an int in \[1, n-1\]"),
        (dict(n_train=45, n_val=10), r"n_train must be an int in \[1, n - n_val\] = \[1, 40\]"),
        (dict(n_val=10, size=0), "size must be None or an int >= 1"),
    ],
)
def test_prepare_errors(kwargs, match):
    images, labels = _toy()
    with pytest.raises(ValueError, match=match):
        prepare(images, labels, **kwargs)


def test_prepare_shape_errors():
    images, labels = _toy()
    with pytest.raises(ValueError, match=r"images must have shape \(n, H, W\)"):
        prepare(images[:, :, :, None, None], labels)
    with pytest.raises(ValueError, match=r"labels must have shape \(n,\) = \(50,\)"):
        prepare(images, labels[:10])
    with pytest.raises(ValueError, match="labels must be non-negative integers"):
        prepare(images, labels - 5)
