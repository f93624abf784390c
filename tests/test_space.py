import json
import math

import numpy as np
import pytest

from lcore.space import Categorical, Fixed, Float, Integer, Space, preset

TOP = 1 - 1e-12

# Every range of the paper's Table I: name -> (kind, low, high) or choices/fixed.
TABLE_I = {
    "mnist_lenet5": {
        "c1_filters": ("int", 1, 350),
        "c2_filters": ("int", 1, 350),
        "fc_units": ("int", 1, 1024),
        "filter_size": ("int", 2, 10),
        "pool1": ("int", 2, 3),
        "pool2": ("int", 2, 3),
        "learning_rate": ("log", 1e-4, 10**-0.5),
        "l2": ("float", 0.0, 1.0),
        "dropout": ("float", 0.0, 0.9),
        "activation": ("fixed", "relu"),
        "regularizer": ("fixed", "dropout"),
    },
    "cifar10_cnn": {
        "c1_filters": ("int", 8, 32),
        "c2_filters": ("int", 32, 64),
        "c3_filters": ("int", 64, 128),
        "c4_filters": ("int", 64, 128),
        "fc_units": ("int", 10, 1000),
        "filter_size": ("int", 2, 3),
        "pool1": ("fixed", 2),
        "pool2": ("fixed", 2),
        "pool3": ("fixed", 2),
        "learning_rate": ("log", 1e-4, 10**-0.5),
        "l2": ("float", 0.0, 1.0),
        "dropout": ("fixed", 0.5),
        "activation": ("cat", ["relu", "elu", "tanh"]),
        "regularizer": ("cat", ["none", "dropout", "batchnorm"]),
    },
}


@pytest.mark.parametrize("name", sorted(TABLE_I))
def test_presets_have_every_table_i_range_and_map_corners_to_ends(name):
    space = preset(name)
    expected = TABLE_I[name]
    assert space.names == list(expected)
    lo = space.configs(np.zeros((1, space.d)))[0]
    hi = space.configs(np.full((1, space.d), TOP))[0]
    for hp, spec in expected.items():
        kind = spec[0]
        if kind == "fixed":
            assert lo[hp] == hi[hp] == spec[1]
        elif kind == "cat":
            assert lo[hp] == spec[1][0] and hi[hp] == spec[1][-1]
        elif kind == "int":
            assert (lo[hp], hi[hp]) == (spec[1], spec[2])
        else:
            assert math.isclose(lo[hp], spec[1], rel_tol=1e-12, abs_tol=1e-12)
            assert math.isclose(hi[hp], spec[2], rel_tol=1e-9, abs_tol=1e-9)


def test_small_preset_records_scaled_ranges():
    space = preset("mnist_lenet5_small")
    hi = space.configs(np.full((1, space.d), TOP))[0]
    assert (hi["c1_filters"], hi["c2_filters"], hi["fc_units"], hi["filter_size"]) == (
        64, 64, 256, 5)
    assert set(space.meta["scaled_ranges"]) == {"c1_filters", "c2_filters", "fc_units",
                                                "filter_size"}


def test_mapping_formulas_match_spec():
    u = np.array([0.0, 0.1, 0.5, 0.999, 1.0])
    assert Integer("a", 2, 3).from_unit(u).tolist() == [2, 2, 3, 3, 3]
    np.testing.assert_array_equal(
        Integer("a", 1, 350).from_unit(u), np.minimum(1 + np.floor(u * 350), 350))
    np.testing.assert_allclose(Float("b", 0, 0.9).from_unit(u), 0.9 * u)
    np.testing.assert_allclose(
        Float("c", 1e-4, 10**-0.5, log=True).from_unit(u), 10 ** (-4 + u * 3.5))
    assert Categorical("d", ["x", "y", "z"]).from_unit(u).tolist() == ["x", "x", "y", "z", "z"]


def test_to_unit_maps_back():
    space = preset("cifar10_cnn")
    U = np.random.default_rng(0).random((200, space.d))
    params = space.from_unit(U)
    U2 = space.to_unit(params)
    np.testing.assert_allclose(space.encode(space.from_unit(U2)), space.encode(params))
    enc = space.encode(params)
    assert enc.shape == (200, space.d)
    assert set(np.unique(enc[:, space.dims.index("activation")])) <= {0.0, 1.0, 2.0}


def test_json_round_trip(tmp_path):
    for name in ("mnist_lenet5", "cifar10_cnn", "mnist_lenet5_small"):
        space = preset(name)
        assert Space.from_json(space.to_json()) == space
        space.save(tmp_path / f"{name}.json")
        assert Space.load(tmp_path / f"{name}.json") == space
        json.loads(space.to_json())


def test_errors():
    with pytest.raises(ValueError, match="unknown space preset 'nope'; known presets"):
        preset("nope")
    with pytest.raises(ValueError, match="low must be <= high"):
        Integer("a", 3, 2)
    with pytest.raises(ValueError, match="log float needs low > 0"):
        Float("a", 0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="choices must not be empty"):
        Categorical("a", [])
    with pytest.raises(ValueError, match="must be unique"):
        Space([Integer("a", 1, 2), Float("a", 0, 1)])
    with pytest.raises(ValueError, match="Python identifier"):
        Integer("a b", 1, 2)
    space = preset("mnist_lenet5")
    with pytest.raises(ValueError, match=r"U must have shape \(n, d\) = \(n, 9\)"):
        space.from_unit(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must lie in \\[0, 1\\], got 1.5"):
        space.from_unit(np.full((1, 9), 1.5))
    with pytest.raises(ValueError, match="unknown hyperparameter type 'weird'"):
        Space.from_dict({"hyperparameters": [{"type": "weird", "name": "a"}]})
    with pytest.raises(ValueError, match="not one of the choices"):
        Categorical("a", ["x"]).encode(["y"])
    with pytest.raises(TypeError, match="Hyperparameter objects"):
        Space([1])


def test_fixed_is_not_a_dimension():
    space = Space([Fixed("act", "relu"), Integer("k", 1, 3)])
    assert space.d == 1 and space.dims == ["k"]
    assert space.configs([[0.5]]) == [{"act": "relu", "k": 2}]
