"""Datasets for pretraining: MNIST and CIFAR-10 from disk or torchvision, arrays given directly.

Loaders return raw ``uint8`` images and ``int64`` labels; :func:`prepare` turns them into a
fixed train / validation split, optionally resized, as float32 NCHW arrays standardized with the
training part's per-channel mean and standard deviation.

- :func:`load_mnist` reads the IDX files (gzipped or not) from ``root``; with ``download=True``
  torchvision's ``datasets.MNIST`` fetches and verifies them first.
- :func:`load_cifar10` reads CIFAR-10's python-pickle batches from ``root``; with
  ``download=True`` torchvision's ``datasets.CIFAR10`` fetches and verifies them first. The
  batches are read by a restricted unpickler that admits only what they hold (dicts, lists,
  bytes, str, numbers and numpy arrays of plain numeric dtypes); arrays are rebuilt from their
  raw bytes by this module, never by running anything the file names.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Dataset",
    "read_idx",
    "load_mnist",
    "read_cifar10_batch",
    "load_cifar10",
    "prepare",
    "MNIST_LICENSE",
    "CIFAR10_SOURCE",
]

MNIST_LICENSE = (
    "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed CC BY-SA 3.0"
)
CIFAR10_SOURCE = (
    "CIFAR-10 by Alex Krizhevsky, Vinod Nair and Geoffrey Hinton "
    "(https://www.cs.toronto.edu/~kriz/cifar.html)"
)

_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), gzipped when the name ends in ``.gz``.

    Returns
    -------
    ndarray
        The array with the shape and dtype that the file's header gives (native byte order).
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path!r} is not an IDX file: its first bytes must be 0x00 0x00 <type> <ndim>, "
            f"got {raw[:4]!r}"
        )
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path!r} holds {len(raw)} bytes, but its header (shape {shape}, {dtype}) "
            f"needs {expected}"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _find(root: str, name: str) -> str | None:
    for folder in (root, os.path.join(root, "raw"), os.path.join(root, "MNIST", "raw")):
        for candidate in (name, name + ".gz"):
            p = os.path.join(folder, candidate)
            if os.path.isfile(p):
                return p
    return None


def load_mnist(
    root: str | os.PathLike, split: str = "train", download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images and labels.

    Parameters
    ----------
    root : path
        A folder holding the IDX files (``t10k-images-idx3-ubyte[.gz]`` ...) directly, in
        ``raw/`` or in ``MNIST/raw/`` (torchvision's layout).
    split : {"train", "test"}
        The 60,000 training images or the 10,000 test images.
    download : bool
        Let torchvision's ``datasets.MNIST`` download and verify the files into ``root`` first.

    Returns
    -------
    images : ndarray, shape (n, 28, 28), uint8
    labels : ndarray, shape (n,), int64
    """
    _check_split(split)
    root = os.fspath(root)
    if download:
        from torchvision import datasets

        ds = datasets.MNIST(root, train=(split == "train"), download=True)
        return ds.data.numpy().astype(np.uint8), ds.targets.numpy().astype(np.int64)
    img_name, lbl_name = _MNIST_FILES[split]
    img_path, lbl_path = _find(root, img_name), _find(root, lbl_name)
    if img_path is None or lbl_path is None:
        raise FileNotFoundError(
            f"MNIST {split} files {img_name}[.gz] and {lbl_name}[.gz] not found in {root!r}, "
            f"{root!r}/raw or {root!r}/MNIST/raw; pass download=True (--download) to fetch them"
        )
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"MNIST files disagree: images {images.shape} from {img_path!r}, labels "
            f"{labels.shape} from {lbl_path!r}"
        )
    return images.astype(np.uint8), labels.astype(np.int64)


_PLAIN_DTYPES = {"u1", "i1", "b1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8"}


class _PickledDType:
    """Stand-in for ``numpy.dtype`` while unpickling: records its arguments, runs nothing."""

    def __init__(self, obj=None, align=False, copy=False):
        self.obj, self.state = obj, None

    def __setstate__(self, state):
        self.state = state


class _PickledArray:
    """Stand-in for a pickled ndarray: records shape, dtype and raw bytes."""

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state


def _reconstruct(cls, shape, typecode):
    return _PickledArray()


def _frombuffer(buf, dtype, shape, order):
    a = _PickledArray()
    a.state = (1, shape, dtype, order == "F", bytes(buf))
    return a


def _latin1_encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("only latin1-encoded text may be rebuilt as bytes")
    return text.encode("latin1")


class _CifarUnpickler(pickle.Unpickler):
    """Admits only the globals a CIFAR-10 batch names, each replaced by an inert stand-in."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): _PickledArray,
        ("numpy", "dtype"): _PickledDType,
        ("_codecs", "encode"): _latin1_encode,
    }

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only dicts, lists, "
                "bytes, str, numbers and numpy arrays"
            ) from None


def _rebuild(obj, depth=0):
    """Turn the stand-ins of :class:`_CifarUnpickler` into numpy arrays, checking sizes."""
    if depth > 16:
        raise ValueError("nested deeper than a CIFAR-10 batch is")
    if isinstance(obj, dict):
        return {k: _rebuild(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rebuild(v, depth + 1) for v in obj]
    if isinstance(obj, _PickledArray):
        st = obj.state
        if not (isinstance(st, tuple) and len(st) == 5):
            raise ValueError("a pickled array without its state")
        _, shape, dt, fortran, raw = st
        if not isinstance(dt, _PickledDType) or dt.obj not in _PLAIN_DTYPES:
            raise ValueError(f"a pickled array of dtype {getattr(dt, 'obj', dt)!r}; only "
                             f"{sorted(_PLAIN_DTYPES)} are read")
        order = dt.state[1] if isinstance(dt.state, tuple) and len(dt.state) > 1 else "|"
        if order not in ("|", "<", ">", "="):
            raise ValueError(f"a pickled dtype with byte order {order!r}")
        if isinstance(raw, str):
            raw = raw.encode("latin1")
        if not isinstance(shape, tuple) or not all(
                isinstance(v, int) and v >= 0 for v in shape) or not isinstance(raw, bytes):
            raise ValueError("a pickled array with a malformed shape or data")
        dtype = np.dtype(dt.obj).newbyteorder("=" if order == "|" else order)
        count = int(np.prod(shape, dtype=object)) if shape else 1
        if count * dtype.itemsize != len(raw):
            raise ValueError(f"a pickled array of shape {shape} ({dtype}) with {len(raw)} "
                             "bytes of data")
        arr = np.frombuffer(raw, dtype=dtype, count=count)
        return arr.reshape(shape, order="F" if fortran else "C").astype(dtype.newbyteorder("="))
    if isinstance(obj, _PickledDType):
        raise ValueError("a bare dtype where a CIFAR-10 batch holds data")
    if isinstance(obj, tuple):
        return tuple(_rebuild(v, depth + 1) for v in obj)
    if obj is None or isinstance(obj, (bytes, str, int, float, bool)):
        return obj
    raise ValueError(f"an object of type {type(obj).__name__}")


def read_cifar10_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python-pickle batch file (``data_batch_1`` ... ``test_batch``).

    The file is unpickled with a restricted unpickler: any global other than numpy's array
    and dtype reconstructors is refused (``ValueError``), and arrays are rebuilt from their
    bytes after checking their shape against their size, so a crafted file cannot run code.

    Returns
    -------
    images : ndarray, shape (n, 32, 32, 3), uint8
    labels : ndarray, shape (n,), int64
    """
    try:
        with open(path, "rb") as f:
            d = _rebuild(_CifarUnpickler(f, encoding="bytes").load())
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError,
            IndexError, KeyError, MemoryError, RecursionError, OverflowError) as exc:
        raise ValueError(
            f"{os.fspath(path)!r} is not a readable CIFAR-10 batch: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(d, dict):
        raise ValueError(f"{os.fspath(path)!r} is not a CIFAR-10 batch: no dict inside")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or ("labels" not in d and "fine_labels" not in d):
        raise ValueError(
            f"{os.fspath(path)!r} is not a CIFAR-10 batch: it needs keys 'data' and 'labels', "
            f"has {sorted(d)}"
        )
    data = np.asarray(d["data"], dtype=np.uint8)
    labels = np.asarray(d.get("labels", d.get("fine_labels")), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{os.fspath(path)!r}: 'data' must have shape (n, 3072) with n = len(labels) = "
            f"{labels.shape[0]}, got {data.shape}"
        )
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def load_cifar10(
    root: str | os.PathLike, split: str = "train", download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images and labels from its python-pickle batches.

    Parameters
    ----------
    root : path
        A folder holding ``cifar-10-batches-py/`` (torchvision's layout) or the batch files.
    split : {"train", "test"}
        ``data_batch_1`` .. ``data_batch_5`` (50,000 images) or ``test_batch`` (10,000).
    download : bool
        Let torchvision's ``datasets.CIFAR10`` download and verify the batches first.

    Returns
    -------
    images : ndarray, shape (n, 32, 32, 3), uint8
    labels : ndarray, shape (n,), int64
    """
    _check_split(split)
    root = os.fspath(root)
    if download:
        from torchvision import datasets

        ds = datasets.CIFAR10(root, train=(split == "train"), download=True)
        return np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64)
    folder = os.path.join(root, "cifar-10-batches-py")
    if not os.path.isdir(folder):
        folder = root
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    paths = [os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n))]
    if not paths:
        raise FileNotFoundError(
            f"CIFAR-10 {split} batches {names} not found in {root!r} or "
            f"{root!r}/cifar-10-batches-py; pass download=True (--download) to fetch them"
        )
    parts = [read_cifar10_batch(p) for p in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@dataclass
class Dataset:
    """A fixed train / validation split, float32 NCHW, standardized.

    Attributes
    ----------
    x_train : ndarray, shape (n_train, C, H, W), float32
    y_train : ndarray, shape (n_train,), int64
    x_val : ndarray, shape (n_val, C, H, W), float32
    y_val : ndarray, shape (n_val,), int64
    meta : dict
        How it was made (JSON-able): source, sizes, split seed, resize, normalization.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max())) + 1

    def fingerprint(self) -> str:
        """SHA-256 (hex, first 16 digits) of the four arrays: same data, same fingerprint."""
        h = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.x_val, self.y_val):
            a = np.ascontiguousarray(a)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]


def prepare(
    images: np.ndarray,
    labels: np.ndarray,
    n_train: int | None = None,
    n_val: int = 1000,
    size: int | None = None,
    seed: int = 0,
    source: str = "arrays",
) -> Dataset:
    """Split, resize and standardize images into a :class:`Dataset`.

    Parameters
    ----------
    images : array_like, shape (n, H, W) or (n, H, W, C), uint8 or float in [0, 255]
    labels : array_like, shape (n,), ints in [0, n_classes)
    n_train : int, optional
        Training images; default all that the validation part leaves.
    n_val : int
        Validation images.
    size : int, optional
        Resize every image to ``size x size`` (area averaging when shrinking, bilinear when
        growing); default keep.
    seed : int
        Seed of the fixed split: a permutation from ``numpy.random.default_rng(seed)``; the
        first ``n_train`` indices train, the next ``n_val`` validate.
    source : str
        Recorded in ``meta["source"]``.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 3:
        images = images[:, None, :, :]
    elif images.ndim == 4 and images.shape[3] in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    else:
        raise ValueError(
            f"images must have shape (n, H, W) or (n, H, W, C) with C in (1, 3), "
            f"got {images.shape}"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"labels must have shape (n,) = ({images.shape[0]},), got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or labels.size and labels.min() < 0:
        raise ValueError("labels must be non-negative integers")
    n = images.shape[0]
    if not isinstance(n_val, (int, np.integer)) or n_val < 1 or n_val >= n:
        raise ValueError(f"n_val must be an int in [1, n-1] = [1, {n - 1}], got {n_val!r}")
    if n_train is None:
        n_train = n - int(n_val)
    if not isinstance(n_train, (int, np.integer)) or n_train < 1 or n_train + n_val > n:
        raise ValueError(
            f"n_train must be an int in [1, n - n_val] = [1, {n - n_val}], got {n_train!r}"
        )
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be None or an int >= 1, got {size!r}")
    perm = np.random.default_rng(seed).permutation(n)
    idx_train, idx_val = perm[:n_train], perm[n_train : n_train + n_val]
    x = images.astype(np.float32) / np.float32(255.0)
    orig = tuple(int(v) for v in x.shape[2:])
    resize = "none"
    if size is not None and (orig[0] != size or orig[1] != size):
        import torch
        import torch.nn.functional as F

        grow = size > min(orig)
        resize = "bilinear" if grow else "area"
        with torch.no_grad():
            t = torch.from_numpy(x)
            if grow:
                t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
            else:
                t = F.interpolate(t, size=(size, size), mode="area")
        x = t.numpy().astype(np.float32)
    x_train, x_val = x[idx_train], x[idx_val]
    mean = x_train.astype(np.float64).mean(axis=(0, 2, 3))
    std = x_train.astype(np.float64).std(axis=(0, 2, 3))
    std[std == 0] = 1.0
    shift = mean.astype(np.float32)[None, :, None, None]
    scale = std.astype(np.float32)[None, :, None, None]
    x_train = np.ascontiguousarray((x_train - shift) / scale, dtype=np.float32)
    x_val = np.ascontiguousarray((x_val - shift) / scale, dtype=np.float32)
    meta = {
        "source": source,
        "n_train": int(n_train),
        "n_val": int(n_val),
        "image_shape": [int(v) for v in x_train.shape[1:]],
        "original_shape": [int(images.shape[1]), *orig],
        "resize": resize,
        "split": f"numpy.random.default_rng({seed}).permutation(n={n}): first n_train train, "
        "next n_val validation",
        "split_seed": int(seed),
        "normalization": "pixels / 255, then minus the training part's per-channel mean, "
        "divided by its standard deviation",
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "val_class_counts": np.bincount(labels[idx_val]).astype(int).tolist(),
    }
    ds = Dataset(x_train, labels[idx_train].astype(np.int64), x_val,
                 labels[idx_val].astype(np.int64), meta)
    ds.meta["fingerprint"] = ds.fingerprint()
    return ds
