import json

import numpy as np
import pytest
from _import_helpers import check_common

from lcore.tables import ImportFormatError, import_table

h5py = pytest.importorskip("h5py")  # the tables extra


def config(i):
    return {"activation_fn_1": ["relu", "tanh"][i % 2], "activation_fn_2": "relu",
            "batch_size": [8, 16, 32][i], "dropout_1": [0.0, 0.3, 0.6][i], "dropout_2": 0.0,
            "init_lr": [0.0005, 0.005, 0.1][i], "lr_schedule": ["cosine", "const"][i % 2],
            "n_units_1": [16, 64, 512][i], "n_units_2": 32}


def fcnet(tmp_path, bad=None):
    p = tmp_path / "fcnet_protein_structure_data.hdf5"
    rng = np.random.default_rng(0)
    with h5py.File(p, "w") as f:
        for i in range(3):
            g = f.create_group(json.dumps(config(i), sort_keys=True))
            curve = (1.0 / np.arange(1, 101))[None, :] * (1 + i) + rng.random((4, 1)) * 0.01
            if i == 2:
                curve[1, 50] = np.nan  # one seed diverged
            g.create_dataset("valid_loss", data=curve)
            g.create_dataset("valid_mse", data=curve)
            g.create_dataset("train_loss", data=curve)
            g.create_dataset("runtime", data=np.array([100.0, 110.0, 90.0, 100.0]) * (i + 1))
            g.create_dataset("n_params", data=np.full(4, 1000.0 * (i + 1)))
            g.create_dataset("final_test_error", data=np.full(4, 0.1))
            if bad == "missing" and i == 1:
                del g["valid_loss"]
            if bad == "ragged" and i == 1:
                del g["valid_loss"]
                g.create_dataset("valid_loss", data=curve[:, :50])
            if bad == "dtype" and i == 1:
                del g["runtime"]
                g.create_dataset("runtime", data=np.array([b"a", b"b", b"c", b"d"]))
    return str(p)


def test_fcnet_layout(tmp_path):
    p = fcnet(tmp_path)
    t = import_table("fcnet", p)
    check_common(t, "min")
    assert (t.n, t.T) == (3, 100) and t.meta["dataset"] == "protein_structure"
    assert t.meta["time_source"] == "interpolated from a total"
    row = np.argsort(t.params["init_lr"])  # rows follow the sorted keys: find config i
    np.testing.assert_allclose(t.time[row[0]], np.full(100, 1.0))  # mean runtime 100 s / 100
    # the mean over seeds fails where one seed diverged
    assert t.n_finished()[row].tolist() == [100, 100, 50]
    np.testing.assert_allclose(t.acc[row[1], :3], [2.0, 1.0, 2 / 3], atol=0.011)
    s0 = import_table("fcnet", p, seed=0)
    assert s0.n_finished().tolist() == [100, 100, 100]
    np.testing.assert_allclose(s0.time[row[1]], np.full(100, 2.0))
    kinds = {f["name"]: f["kind"] for f in t.meta["features"]}
    assert kinds["init_lr"] == "log" and kinds["activation_fn_1"] == "binary"
    assert kinds["dropout_1"] == "linear"


@pytest.mark.parametrize("bad, match", [("missing", "lacks 'valid_loss'"),
                                        ("ragged", "ragged curves"),
                                        ("dtype", "must be numeric")])
def test_fcnet_malformed(tmp_path, bad, match):
    with pytest.raises(ImportFormatError, match=match):
        import_table("fcnet", fcnet(tmp_path, bad))


def test_fcnet_options(tmp_path):
    p = fcnet(tmp_path)
    with pytest.raises(ValueError, match="seed must be an int in \\[0, 3\\] or 'mean', got 7"):
        import_table("fcnet", p, seed=7)
    with pytest.raises(ValueError, match="metric must be one of"):
        import_table("fcnet", p, metric="accuracy")
    with pytest.raises(ValueError, match="does not match the file's dataset"):
        import_table("fcnet", p, dataset="naval_propulsion")
    notes = tmp_path / "fcnet_x_data.hdf5"
    notes.write_bytes(b"not hdf5")
    with pytest.raises(ImportFormatError, match="not an HDF5 file"):
        import_table("fcnet", str(notes))
