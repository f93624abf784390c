"""Pretraining: build lookup tables by training the paper's CNNs (needs the ``pretrain`` extra).

Nothing outside this subpackage imports it, so ``import lcore`` never imports torch.

>>> from lcore.space import preset
>>> from lcore.pretrain import load_mnist, prepare, generate
>>> X, y = load_mnist("../shared/data/MNIST", split="test")          # doctest: +SKIP
>>> data = prepare(X, y, n_train=2000, n_val=1000, size=14)          # doctest: +SKIP
>>> table = generate(preset("mnist_lenet5_small"), data, n=16, epochs=3,
...                  out="small.npz", n_jobs=2)                      # doctest: +SKIP
"""

from .data import Dataset, load_cifar10, load_mnist, prepare, read_cifar10_batch, read_idx
from .generate import Journal, JournalError, assemble, generate, row_seed, sobol_points
from .models import ARCHITECTURE, PaperCNN, build_model, cifar10_cnn, mnist_lenet5
from .train import TRAINING, resolve_device, train_configuration

__all__ = [
    "ARCHITECTURE",
    "TRAINING",
    "Dataset",
    "Journal",
    "JournalError",
    "PaperCNN",
    "assemble",
    "build_model",
    "cifar10_cnn",
    "generate",
    "load_cifar10",
    "load_mnist",
    "mnist_lenet5",
    "prepare",
    "read_cifar10_batch",
    "read_idx",
    "resolve_device",
    "row_seed",
    "sobol_points",
    "train_configuration",
]
