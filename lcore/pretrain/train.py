"""Train one configuration for T epochs, recording validation accuracy and wall time per epoch.

A non-finite loss, an out-of-memory error or any other exception ends the configuration as a
recorded failure (docs/semantics.md): the epochs it finished keep their numbers, later epochs
are NaN in ``acc`` and 0 in ``time``. Nothing but ``KeyboardInterrupt`` / ``SystemExit``
escapes :func:`train_configuration`.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from .data import Dataset
from .models import build_model

__all__ = ["TRAINING", "resolve_device", "train_configuration"]

TRAINING = {
    "optimizer": "Adam (torch.optim.Adam, betas (0.9, 0.999), eps 1e-8) with the "
    "configuration's learning rate",
    "batch_size": 64,
    "last_batch": "kept (smaller)",
    "shuffle": "torch.randperm per epoch from a torch.Generator seeded with the row's seed",
    "loss": "cross-entropy on logits + l2 * sum(w**2)/2 over the fully-connected and output "
    "layers' weights and biases",
    "seed": "torch.manual_seed(row seed) before building the model (init, dropout)",
    "validation": "accuracy on the whole validation split after every epoch, model.eval()",
    "time": "wall seconds of the epoch's training plus its validation (time.perf_counter; "
    "CUDA synchronized)",
    "failure": "non-finite training loss (checked once per epoch), out-of-memory or any "
    "exception ends the row: finished epochs kept, later ones NaN in acc and 0 in time",
}

ModelFn = Callable[[Mapping[str, Any], tuple, int], torch.nn.Module]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` or None: ``cuda`` when available, else ``cpu``; else ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch.cuda.is_available() is False")
    return dev


@contextlib.contextmanager
def _torch_threads(n: int | None):
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_configuration(
    config: Mapping[str, Any],
    data: Dataset,
    epochs: int,
    seed: int,
    family: str = "mnist",
    device: str | torch.device | None = "auto",
    batch_size: int = 64,
    num_threads: int | None = 1,
    model_fn: ModelFn | None = None,
) -> dict[str, Any]:
    """Train ``config`` on ``data`` for ``epochs`` epochs.

    Parameters
    ----------
    config : mapping
        One configuration (``Space.configs`` row): needs ``learning_rate`` and ``l2`` plus what
        the model builder reads.
    data : Dataset
        Fixed train / validation split (:func:`lcore.pretrain.data.prepare`).
    epochs : int
        T, the number of epochs.
    seed : int
        The row's seed (model initialization, dropout, batch order).
    family : {"mnist", "cifar10"}
        Which paper model to build (ignored when ``model_fn`` is given).
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    batch_size : int
        Minibatch size (the presets use 64).
    num_threads : int or None
        Torch CPU threads while training (restored afterwards); None leaves it alone.
    model_fn : callable, optional
        ``model_fn(config, in_shape, n_classes) -> nn.Module`` instead of the paper model; a
        module with an ``l2_penalty()`` method gets the L2 term.

    Returns
    -------
    dict
        ``acc`` (list of T floats, NaN after a failure), ``time`` (list of T floats, 0 after a
        failure), ``status`` (``"ok"`` or ``"failed"``), ``epochs_done`` (int), ``error``
        (None or ``"TypeName: message"``).
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    dev = resolve_device(device)
    acc = [math.nan] * int(epochs)
    secs = [0.0] * int(epochs)
    done = 0
    error: str | None = None
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    with _torch_threads(num_threads), torch.random.fork_rng(devices=fork_devices):
        model = None
        try:
            torch.manual_seed(int(seed))
            gen = torch.Generator().manual_seed(int(seed))
            if model_fn is None:
                model = build_model(family, config, data.in_shape, data.n_classes)
            else:
                model = model_fn(config, data.in_shape, data.n_classes)
            model = model.to(dev)
            lr = float(config["learning_rate"])
            l2 = float(config.get("l2", 0.0))
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            penalty = getattr(model, "l2_penalty", None) if l2 != 0.0 else None
            # copies: the arrays may be read-only memory maps shared between workers
            x_train = torch.tensor(data.x_train, device=dev)
            y_train = torch.tensor(data.y_train, device=dev)
            x_val = torch.tensor(data.x_val, device=dev)
            y_val = torch.tensor(data.y_val, device=dev)
            n = x_train.shape[0]
            for epoch in range(int(epochs)):
                _sync(dev)
                t0 = time.perf_counter()
                model.train()
                order = torch.randperm(n, generator=gen).to(dev)
                finite = torch.ones((), dtype=torch.bool, device=dev)
                for start in range(0, n, int(batch_size)):
                    idx = order[start : start + int(batch_size)]
                    loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
                    if penalty is not None:
                        loss = loss + l2 * penalty()
                    finite &= torch.isfinite(loss.detach())
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                if not bool(finite):
                    error = f"FloatingPointError: non-finite training loss in epoch {epoch + 1}"
                    break
                model.eval()
                correct = 0
                with torch.no_grad():
                    for start in range(0, x_val.shape[0], 1000):
                        logits = model(x_val[start : start + 1000])
                        correct += int((logits.argmax(1) == y_val[start : start + 1000]).sum())
                _sync(dev)
                secs[epoch] = time.perf_counter() - t0
                acc[epoch] = correct / x_val.shape[0]
                done = epoch + 1
        except Exception as e:  # a failed row is a result, not a crash of the run
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            error = f"{type(e).__name__}: {msg}"[:500]
        finally:
            del model
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    return {
        "acc": acc,
        "time": secs,
        "status": "ok" if done == int(epochs) else "failed",
        "epochs_done": done,
        "error": error,
    }
