"""Training one configuration: real MNIST learning, recorded failures, seeds, arguments."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _mnist import MNIST_RAW, needs_mnist  # noqa: E402

from lcore.pretrain.data import load_mnist, prepare  # noqa: E402
from lcore.pretrain.train import resolve_device, train_configuration  # noqa: E402

SANE = dict(c1_filters=32, c2_filters=32, fc_units=128, filter_size=3, pool1=2, pool2=2,
            learning_rate=2e-3, l2=1e-4, dropout=0.2)


@pytest.fixture(scope="module")
def mnist_small():
    images, labels = load_mnist(MNIST_RAW, split="test")
    return prepare(images, labels, n_train=800, n_val=300, size=14, seed=0)


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    return prepare(rng.integers(0, 256, (200, 8, 8), dtype=np.uint8),
                   rng.integers(0, 10, 200), n_train=128, n_val=40)


@needs_mnist
def test_sane_configuration_learns_in_two_epochs(mnist_small):
    res = train_configuration(SANE, mnist_small, epochs=2, seed=1, device="cpu")
    assert res["status"] == "ok" and res["epochs_done"] == 2 and res["error"] is None
    assert res["acc"][1] > 0.6, res  # chance is about 0.1
    assert all(t > 0 for t in res["time"])


@needs_mnist
def test_huge_learning_rate_and_l2_stays_near_chance(mnist_small):
    cfg = dict(SANE, learning_rate=10**-0.5, l2=1.0)
    res = train_configuration(cfg, mnist_small, epochs=2, seed=1, device="cpu")
    finished = [a for a in res["acc"] if not math.isnan(a)]
    # it may also end as a recorded failure (non-finite loss); what it finished is chance
    assert res["status"] == "ok" or "non-finite" in res["error"]
    assert max(finished, default=0.0) < 0.25, res


class _Faulty(torch.nn.Module):
    """A small model that misbehaves on its k-th training forward call."""

    def __init__(self, in_shape, fault, after):
        super().__init__()
        self.lin = torch.nn.Linear(int(np.prod(in_shape)), 10)
        self.fault, self.after, self.calls = fault, after, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                if self.fault == "nan":
                    return self.lin(torch.flatten(x, 1)) * float("nan")
                if self.fault == "oom":
                    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
                raise RuntimeError("boom: forced failure")
        return self.lin(torch.flatten(x, 1))


def _faulty(fault, after):
    return lambda config, in_shape, n_classes: _Faulty(in_shape, fault, after)


CFG = dict(learning_rate=1e-3, l2=0.0)


@pytest.mark.parametrize(
    "fault,after,done,error",
    [
        ("nan", 2, 1, "FloatingPointError: non-finite training loss in epoch 2"),
        ("raise", 5, 2, "RuntimeError: boom: forced failure"),
        ("oom", 0, 0, "OutOfMemoryError: CUDA out of memory"),
    ],
)
def test_failures_are_recorded(toy, fault, after, done, error):
    # 128 training images, batch 64: two training forward calls per epoch
    res = train_configuration(CFG, toy, epochs=4, seed=0, device="cpu",
                              model_fn=_faulty(fault, after))
    assert res["status"] == "failed"
    assert res["epochs_done"] == done
    assert res["error"].startswith(error)
    assert all(not math.isnan(a) for a in res["acc"][:done])
    assert all(math.isnan(a) for a in res["acc"][done:])
    assert all(t > 0 for t in res["time"][:done])
    assert res["time"][done:] == [0.0] * (4 - done)


def test_model_construction_error_is_a_failure_with_no_epochs(toy):
    def broken(config, in_shape, n_classes):
        raise ValueError("no such model")

    res = train_configuration(CFG, toy, epochs=3, seed=0, device="cpu", model_fn=broken)
    assert res["status"] == "failed" and res["epochs_done"] == 0
    assert res["error"] == "ValueError: no such model"
    assert all(math.isnan(a) for a in res["acc"]) and res["time"] == [0.0] * 3


def test_missing_learning_rate_is_a_failure(toy):
    cfg = dict(c1_filters=2, c2_filters=2, fc_units=4, filter_size=2, pool1=2, pool2=2)
    res = train_configuration(cfg, toy, epochs=1, seed=0, device="cpu")
    assert res["status"] == "failed" and res["error"].startswith("KeyError")


def test_same_seed_same_curve_and_global_state_untouched(toy):
    cfg = dict(SANE, c1_filters=3, c2_filters=3, fc_units=8)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = train_configuration(cfg, toy, epochs=2, seed=5, device="cpu")
    after = torch.rand(3)
    b = train_configuration(cfg, toy, epochs=2, seed=5, device="cpu")
    assert a["acc"] == b["acc"] and a["status"] == "ok"
    torch.testing.assert_close(before, after)  # the caller's RNG stream is not consumed
    assert torch.get_num_threads() == threads


def test_l2_shrinks_only_penalized_layers(toy):
    from lcore.pretrain.models import mnist_lenet5

    built = {}

    def keep(config, in_shape, n_classes):
        built[config["l2"]] = m = mnist_lenet5(config, in_shape=in_shape, n_classes=n_classes)
        return m

    cfg = dict(c1_filters=3, c2_filters=3, fc_units=16, filter_size=3, pool1=2, pool2=2,
               learning_rate=1e-2, dropout=0.0)
    for l2 in (0.0, 1.0):
        train_configuration(dict(cfg, l2=l2), toy, epochs=2, seed=0, device="cpu",
                            model_fn=keep)
    torch.manual_seed(0)  # the same initialization as the trained rows (seed 0)
    initial = mnist_lenet5(dict(cfg, l2=0.0), in_shape=toy.in_shape)
    with torch.no_grad():
        p0, p_free, p_l2 = (float(m.l2_penalty()) for m in (initial, built[0.0], built[1.0]))
    assert p_l2 < p0 and p_l2 < p_free


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want and resolve_device(None).type == want
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device("tpu-ish")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"torch.cuda.is_available\(\) is False"):
            resolve_device("cuda")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(epochs=0), "epochs must be an int >= 1"),
        (dict(epochs=2.0), "epochs must be an int >= 1"),
        (dict(batch_size=0), "batch_size must be an int >= 1"),
    ],
)
def test_argument_errors(toy, kwargs, match):
    args = dict(epochs=1, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        train_configuration(CFG, toy, **args)
