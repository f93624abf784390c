"""The paper's CNNs built from configurations: shapes at the corners of both spaces."""

import itertools
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lcore.pretrain.models import (  # noqa: E402
    ARCHITECTURE,
    PaperCNN,
    build_model,
    cifar10_cnn,
    mnist_lenet5,
)
from lcore.space import preset  # noqa: E402


def _ceil_div(a, b):
    return -(-a // b)


def _corner(space, **chosen):
    """A configuration with each named hyperparameter at its low ('lo') or high ('hi') end."""
    cfg = space.configs(np.full((1, space.d), 0.5))[0]
    for name, end in chosen.items():
        u = np.full((1, space.d), 0.5)
        u[0, space.dims.index(name)] = 0.0 if end == "lo" else 1.0
        cfg[name] = space.configs(u)[0][name]
    return cfg


@pytest.mark.parametrize("space_name,side", [("mnist_lenet5", 28), ("mnist_lenet5_small", 14)])
@pytest.mark.parametrize(
    "filters,pools,ksize", list(itertools.product(("lo", "hi"), ("lo", "hi"), ("lo", "hi")))
)
def test_mnist_corners_output_shape(space_name, side, filters, pools, ksize):
    space = preset(space_name)
    cfg = _corner(
        space, c1_filters=filters, c2_filters=filters, fc_units=filters,
        pool1=pools, pool2=pools, filter_size=ksize,
    )
    model = mnist_lenet5(cfg, in_shape=(1, side, side)).eval()
    x = torch.randn(2, 1, side, side)
    with torch.no_grad():
        feats = model.features(x)
        out = model(x)
    assert out.shape == (2, 10)
    h = _ceil_div(_ceil_div(side, cfg["pool1"]), cfg["pool2"])
    assert feats.shape == (2, cfg["c2_filters"], h, h)
    assert model.flat_features == cfg["c2_filters"] * h * h
    assert model.fc.out_features == cfg["fc_units"]
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "filters,ksize,activation,regularizer",
    [
        ("lo", "lo", "relu", "none"),
        ("hi", "hi", "elu", "dropout"),
        ("lo", "hi", "tanh", "batchnorm"),
        ("hi", "lo", "relu", "batchnorm"),
    ],
)
def test_cifar_corners_output_shape(filters, ksize, activation, regularizer):
    space = preset("cifar10_cnn")
    cfg = _corner(
        space, c1_filters=filters, c2_filters=filters, c3_filters=filters, c4_filters=filters,
        fc_units=filters, filter_size=ksize,
    )
    cfg.update(activation=activation, regularizer=regularizer)
    model = cifar10_cnn(cfg).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        feats = model.features(x)
        out = model(x)
    assert out.shape == (3, 10)
    assert feats.shape == (3, cfg["c4_filters"], 4, 4)  # 32 -> 16 -> 8 -> 4
    kinds = [type(m).__name__ for m in model.features]
    assert kinds.count("MaxPool2d") == 3
    assert kinds.count("BatchNorm2d") == (4 if regularizer == "batchnorm" else 0)
    assert type(model.drop).__name__ == ("Dropout" if regularizer == "dropout" else "Identity")
    act = {"relu": "ReLU", "elu": "ELU", "tanh": "Tanh"}[activation]
    assert kinds.count(act) == 4 and type(model.fc_act).__name__ == act


def test_cifar_layer_order_is_c1_c2_p1_c3_p2_c4_p3():
    cfg = _corner(preset("cifar10_cnn"))
    cfg.update(regularizer="none")
    kinds = [type(m).__name__ for m in cifar10_cnn(cfg).features]
    seq = [k for k in kinds if k in ("Conv2d", "MaxPool2d")]
    assert seq == ["Conv2d", "Conv2d", "MaxPool2d", "Conv2d", "MaxPool2d", "Conv2d", "MaxPool2d"]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 10])
def test_same_padding_matches_torch_same(k):
    # independent reference: PyTorch's own padding="same" with the same weights
    model = PaperCNN((2, 9, 9), [(3, False, 1)], filter_size=k, fc_units=4, regularizer="none")
    conv = [m for m in model.features if isinstance(m, torch.nn.Conv2d)][0]
    ref = torch.nn.Conv2d(2, 3, k, padding="same")
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(2, 2, 9, 9)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns that even k copies
        want = ref(x)
    with torch.no_grad():
        got = model.features[: len(model.features) - 1](x)  # drop the activation
    assert got.shape == (2, 3, 9, 9)
    torch.testing.assert_close(got, want)


def test_ceil_mode_pooling_never_reaches_zero():
    cfg = dict(c1_filters=2, c2_filters=2, fc_units=3, filter_size=2, pool1=3, pool2=3)
    model = mnist_lenet5(cfg, in_shape=(1, 2, 2)).eval()
    with torch.no_grad():
        assert model.features(torch.randn(1, 1, 2, 2)).shape == (1, 2, 1, 1)


def test_l2_penalty_is_half_sum_of_squares_of_fc_and_output_layers():
    cfg = dict(c1_filters=3, c2_filters=4, fc_units=5, filter_size=3, pool1=2, pool2=2)
    model = mnist_lenet5(cfg, in_shape=(1, 14, 14))
    want = 0.0
    for layer in (model.fc, model.out):
        want += float((layer.weight.detach().double() ** 2).sum())
        want += float((layer.bias.detach().double() ** 2).sum())
    assert float(model.l2_penalty().detach()) == pytest.approx(want / 2, rel=1e-5)
    # the convolutions are not penalized
    with torch.no_grad():
        for m in model.features:
            if isinstance(m, torch.nn.Conv2d):
                m.weight.mul_(100.0)
    assert float(model.l2_penalty().detach()) == pytest.approx(want / 2, rel=1e-5)


def test_mnist_defaults_relu_and_dropout():
    cfg = dict(c1_filters=3, c2_filters=4, fc_units=5, filter_size=3, pool1=2, pool2=2,
               dropout=0.25)
    model = mnist_lenet5(cfg)
    assert type(model.fc_act).__name__ == "ReLU"
    assert isinstance(model.drop, torch.nn.Dropout) and model.drop.p == 0.25


def test_build_model_dispatch_and_architecture_record():
    cfg = dict(c1_filters=3, c2_filters=4, fc_units=5, filter_size=3, pool1=2, pool2=2)
    assert isinstance(build_model("mnist", cfg, (1, 14, 14)), PaperCNN)
    assert {"padding", "pooling", "l2", "dropout", "batchnorm"} <= set(ARCHITECTURE)
    with pytest.raises(ValueError, match="family must be one of"):
        build_model("svhn", cfg, (1, 14, 14))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(activation="gelu"), "activation must be one of"),
        (dict(regularizer="l1"), "regularizer must be one of"),
        (dict(dropout=1.0), r"dropout must be a float in \[0, 1\)"),
        (dict(filter_size=0), "filter_size must be an int >= 1"),
        (dict(fc_units=0), "fc_units must be an int >= 1"),
        (dict(blocks=[(0, True, 2)]), "every filter count must be an int >= 1"),
        (dict(blocks=[(2, True, 0)]), "every pool size must be an int >= 1"),
    ],
)
def test_invalid_arguments(kwargs, match):
    args = dict(in_shape=(1, 8, 8), blocks=[(2, True, 2)], filter_size=3, fc_units=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        PaperCNN(**args)


def test_missing_hyperparameter():
    with pytest.raises(KeyError, match="config lacks"):
        mnist_lenet5(dict(c1_filters=3))
