"""The paper's two CNNs, built from one configuration of Table I of the paper.

Every architectural choice the paper leaves open is made here once and described by
:data:`ARCHITECTURE`, which the table generator copies into the table's ``meta``:

- convolutions use "same" padding (stride 1; PyTorch puts the extra pixel of an even filter on
  the right/bottom, as TensorFlow does);
- max pooling uses a window equal to its stride and ceil mode, so no spatial size reaches 0;
- the activation (ReLU, ELU or tanh) follows every convolution and the fully-connected layer;
- dropout (regularizer ``"dropout"``) acts on the fully-connected layer's output, as in the
  TensorFlow LeNet-5 MNIST example; batch norm (regularizer ``"batchnorm"``) sits between each
  convolution and its activation;
- the output layer is a linear layer to the 10 classes; the softmax is in the loss
  (cross-entropy on logits);
- the L2 penalty ``l2 * sum(w**2) / 2`` covers the weights and biases of the fully-connected
  layer and the output layer only (:meth:`PaperCNN.l2_penalty`).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

__all__ = [
    "ARCHITECTURE",
    "PaperCNN",
    "build_model",
    "mnist_lenet5",
    "cifar10_cnn",
]

ARCHITECTURE = {
    "padding": "same (stride 1; an even filter's extra pixel on the right/bottom)",
    "pooling": "max pooling, window = stride = pool size, ceil_mode=True",
    "activation": "after every convolution and after the fully-connected layer",
    "dropout": "on the fully-connected layer's output (regularizer 'dropout')",
    "batchnorm": "BatchNorm2d between each convolution and its activation "
    "(regularizer 'batchnorm')",
    "output": "linear layer to 10 classes; softmax inside the cross-entropy loss",
    "l2": "l2 * sum(w**2) / 2 over weights and biases of the fully-connected and output "
    "layers only (TensorFlow LeNet-5 MNIST example)",
    "init": "PyTorch defaults (Kaiming-uniform) under the configuration's seed",
}

_ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}
_REGULARIZERS = ("none", "dropout", "batchnorm")


def _pooled(size: int, pool: int) -> int:
    # ceil mode, no padding: a window starts at every multiple of `pool` below `size`
    return -(-size // pool)


def _same_conv(in_channels: int, out_channels: int, k: int) -> list[nn.Module]:
    # "same" padding written out (PyTorch's padding="same" warns and copies for even k):
    # k - 1 zeros in all, the extra one of an even filter on the right/bottom.
    lo, hi = (k - 1) // 2, k // 2
    if lo == hi:
        return [nn.Conv2d(in_channels, out_channels, k, padding=lo)]
    return [nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(in_channels, out_channels, k)]


class PaperCNN(nn.Module):
    """A stack of convolution blocks, a fully-connected layer and a linear output layer.

    Parameters
    ----------
    in_shape : tuple of int
        ``(channels, height, width)`` of one input image.
    blocks : list of (int, bool, int)
        One ``(filters, then_pool, pool_size)`` per convolution, in order.
    filter_size : int
        Side of every convolution filter.
    fc_units : int
        Units of the fully-connected layer.
    activation : {"relu", "elu", "tanh"}
    regularizer : {"none", "dropout", "batchnorm"}
    dropout : float
        Dropout rate in [0, 1); used only when ``regularizer == "dropout"``.
    n_classes : int
        Output units.

    The input is a float tensor of shape (batch, channels, height, width); the output is the
    logits, shape (batch, n_classes).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        blocks: list[tuple[int, bool, int]],
        filter_size: int,
        fc_units: int,
        activation: str = "relu",
        regularizer: str = "dropout",
        dropout: float = 0.5,
        n_classes: int = 10,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        if regularizer not in _REGULARIZERS:
            raise ValueError(
                f"regularizer must be one of {list(_REGULARIZERS)}, got {regularizer!r}"
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1), got {dropout!r}")
        if int(filter_size) < 1:
            raise ValueError(f"filter_size must be an int >= 1, got {filter_size!r}")
        if int(fc_units) < 1:
            raise ValueError(f"fc_units must be an int >= 1, got {fc_units!r}")
        act = _ACTIVATIONS[activation]
        channels, height, width = (int(v) for v in in_shape)
        layers: list[nn.Module] = []
        for filters, then_pool, pool in blocks:
            if int(filters) < 1:
                raise ValueError(f"every filter count must be an int >= 1, got {filters!r}")
            layers.extend(_same_conv(channels, int(filters), int(filter_size)))
            if regularizer == "batchnorm":
                layers.append(nn.BatchNorm2d(int(filters)))
            layers.append(act())
            channels = int(filters)
            if then_pool:
                if int(pool) < 1:
                    raise ValueError(f"every pool size must be an int >= 1, got {pool!r}")
                layers.append(nn.MaxPool2d(int(pool), stride=int(pool), ceil_mode=True))
                height, width = _pooled(height, int(pool)), _pooled(width, int(pool))
        self.features = nn.Sequential(*layers)
        self.flat_features = channels * height * width
        self.fc = nn.Linear(self.flat_features, int(fc_units))
        self.fc_act = act()
        self.drop = nn.Dropout(float(dropout)) if regularizer == "dropout" else nn.Identity()
        self.out = nn.Linear(int(fc_units), int(n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.drop(self.fc_act(self.fc(x)))
        return self.out(x)

    def l2_penalty(self) -> torch.Tensor:
        """``sum(w**2) / 2`` over the fully-connected and output layers' weights and biases."""
        total = self.fc.weight.new_zeros(())
        for layer in (self.fc, self.out):
            total = total + layer.weight.pow(2).sum() + layer.bias.pow(2).sum()
        return total / 2


def mnist_lenet5(config: Mapping[str, Any], in_shape=(1, 28, 28), n_classes: int = 10) -> PaperCNN:
    """LeNet-5 style C1-P1-C2-P2-Fc-Softmax from an MNIST configuration.

    Uses ``c1_filters, c2_filters, fc_units, filter_size, pool1, pool2, dropout`` and, when
    present, ``activation`` (default ``"relu"``) and ``regularizer`` (default ``"dropout"``).
    """
    c = _need(config, ("c1_filters", "c2_filters", "fc_units", "filter_size", "pool1", "pool2"))
    return PaperCNN(
        in_shape,
        [(c["c1_filters"], True, c["pool1"]), (c["c2_filters"], True, c["pool2"])],
        filter_size=c["filter_size"],
        fc_units=c["fc_units"],
        activation=config.get("activation", "relu"),
        regularizer=config.get("regularizer", "dropout"),
        dropout=config.get("dropout", 0.0),
        n_classes=n_classes,
    )


def cifar10_cnn(config: Mapping[str, Any], in_shape=(3, 32, 32), n_classes: int = 10) -> PaperCNN:
    """C1-C2-P1-C3-P2-C4-P3-Fc-Softmax from a CIFAR-10 configuration.

    Uses ``c1_filters .. c4_filters, fc_units, filter_size, activation, regularizer`` and
    ``pool1, pool2, pool3, dropout`` (defaults 2, 2, 2, 0.5: fixed in the paper's space).
    """
    c = _need(
        config,
        ("c1_filters", "c2_filters", "c3_filters", "c4_filters", "fc_units", "filter_size",
         "activation", "regularizer"),
    )
    return PaperCNN(
        in_shape,
        [
            (c["c1_filters"], False, 1),
            (c["c2_filters"], True, config.get("pool1", 2)),
            (c["c3_filters"], True, config.get("pool2", 2)),
            (c["c4_filters"], True, config.get("pool3", 2)),
        ],
        filter_size=c["filter_size"],
        fc_units=c["fc_units"],
        activation=c["activation"],
        regularizer=c["regularizer"],
        dropout=config.get("dropout", 0.5),
        n_classes=n_classes,
    )


def _need(config: Mapping[str, Any], keys) -> dict:
    missing = [k for k in keys if k not in config]
    if missing:
        raise KeyError(f"config lacks {missing}; it has {sorted(config)}")
    return {k: config[k] for k in keys}


_BUILDERS = {"mnist": mnist_lenet5, "cifar10": cifar10_cnn}


def build_model(
    family: str, config: Mapping[str, Any], in_shape: tuple[int, int, int], n_classes: int = 10
) -> PaperCNN:
    """Build the model of ``family`` (``"mnist"`` or ``"cifar10"``) for ``config``."""
    if family not in _BUILDERS:
        raise ValueError(f"family must be one of {sorted(_BUILDERS)}, got {family!r}")
    return _BUILDERS[family](config, in_shape=in_shape, n_classes=n_classes)
