"""Pretraining speed: epochs per second of lcore's training loop, per configuration and device.

lcore's loop (``lcore.pretrain.train_configuration``: tensors indexed in place, one loss check
per epoch) is timed against the textbook PyTorch loop on the same model, data and seed
(``DataLoader(TensorDataset, batch_size=64, shuffle=True)``, the same L2 term and per-epoch
validation). An epoch is training plus validation. CPU runs use one torch thread (what each
generation worker uses); a CUDA device is timed too when one is present.

    python bench/pretrain.py [--epochs 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _common import write  # noqa: E402

from lcore.pretrain.data import load_mnist, prepare  # noqa: E402
from lcore.pretrain.models import build_model  # noqa: E402
from lcore.pretrain.train import train_configuration  # noqa: E402
from lcore.space import preset  # noqa: E402

MNIST_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "MNIST" / "raw"


def _data(n_train, n_val, side, channels, seed=0):
    if channels == 1 and (MNIST_RAW / "t10k-images-idx3-ubyte.gz").is_file():
        images, labels = load_mnist(MNIST_RAW, split="test")
        src = "MNIST test images"
    else:  # speed does not depend on the pixels
        rng = np.random.default_rng(seed)
        shape = (n_train + n_val, side, side) + (() if channels == 1 else (channels,))
        images, labels = rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(
            0, 10, n_train + n_val
        )
        src = "random images"
    return prepare(images, labels, n_train=n_train, n_val=n_val, size=side), src


def _reference_epochs(cfg, data, family, epochs, seed, device):
    """The textbook loop: DataLoader over a TensorDataset, loss checked every batch."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    model = build_model(family, cfg, data.in_shape, data.n_classes).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"])
    train = DataLoader(
        TensorDataset(torch.tensor(data.x_train), torch.tensor(data.y_train)),
        batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed),
    )
    val = DataLoader(TensorDataset(torch.tensor(data.x_val), torch.tensor(data.y_val)),
                     batch_size=1000)
    secs = []
    for _ in range(epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.train()
        for xb, yb in train:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb) + cfg["l2"] * model.l2_penalty()
            if not torch.isfinite(loss):
                raise FloatingPointError("non-finite loss")
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in val:
                correct += int((model(xb.to(device)).argmax(1) == yb.to(device)).sum())
        if device.type == "cuda":
            torch.cuda.synchronize()
        secs.append(time.perf_counter() - t0)
    return secs


CASES = [
    # name, preset, corner u (scalar for every dim), family, n_train, n_val, side, channels
    ("mnist_small u=0.25", "mnist_lenet5_small", 0.25, "mnist", 2000, 1000, 14, 1),
    ("mnist_small u=0.5 (mid)", "mnist_lenet5_small", 0.5, "mnist", 2000, 1000, 14, 1),
    ("mnist_small u=0.99 (largest)", "mnist_lenet5_small", 0.99, "mnist", 2000, 1000, 14, 1),
    ("mnist_full u=0.25 (28x28)", "mnist_lenet5", 0.25, "mnist", 2000, 1000, 28, 1),
    ("cifar10 u=0.25 (32x32)", "cifar10_cnn", 0.25, "cifar10", 1000, 500, 32, 3),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=3, help="epochs per timing (first dropped)")
    ap.add_argument("--quick", action="store_true", help="the first two cases only")
    args = ap.parse_args(argv)
    devices = [torch.device("cpu")] + (
        [torch.device("cuda")] if torch.cuda.is_available() else []
    )
    rows = []
    for name, pname, u, family, n_train, n_val, side, channels in (
        CASES[:2] if args.quick else CASES
    ):
        space = preset(pname)
        cfg = space.configs(np.full((1, space.d), u))[0]
        cfg["learning_rate"] = 1e-3  # a trainable rate: no NaN cut short the timing
        data, src = _data(n_train, n_val, side, channels)
        for dev in devices:
            threads = 1 if dev.type == "cpu" else None
            before = torch.get_num_threads()
            if threads:
                torch.set_num_threads(threads)
            try:
                res = train_configuration(cfg, data, args.epochs, seed=0, family=family,
                                          device=dev, num_threads=threads)
                ref = _reference_epochs(cfg, data, family, args.epochs, 0, dev)
            finally:
                torch.set_num_threads(before)
            lc = statistics.median(res["time"][1:] or res["time"])
            rf = statistics.median(ref[1:] or ref)
            rows.append({
                "case": name, "device": str(dev), "torch_threads": threads,
                "config": cfg, "n_train": n_train, "n_val": n_val,
                "image": [channels, side, side], "data": src,
                "lcore_epoch_s": lc, "reference_epoch_s": rf,
                "lcore_epochs_per_s": 1.0 / lc, "reference_epochs_per_s": 1.0 / rf,
                "ratio_lcore_speedup": rf / lc,
                "status": res["status"],
            })
            print(f"{name:32s} {str(dev):5s} lcore {1 / lc:7.3f} ep/s  reference "
                  f"{1 / rf:7.3f} ep/s  speedup x{rf / lc:.2f}", flush=True)
    payload = {
        "what": "epochs per second (training + validation) for one configuration",
        "reference": "textbook PyTorch loop: DataLoader(TensorDataset), batch 64, "
        "loss finiteness checked every batch",
        "epochs_timed": args.epochs, "first_epoch_dropped": args.epochs > 1,
        "cuda_available": torch.cuda.is_available(),
        "gpu_note": None if torch.cuda.is_available() else
        "no CUDA device on this machine: the GPU path was not timed",
        "load_average_at_end": list(os.getloadavg()),
        "results": rows,
    }
    print(write("pretrain", payload, packages=("torch", "torchvision")))


if __name__ == "__main__":
    main()
