import json

import numpy as np
import pandas as pd
import pytest
from _import_helpers import check_common

from lcore.tables import ImportFormatError, import_table

pytest.importorskip("pyarrow")  # pandas' parquet engine (the tables extra)


def folder(tmp_path, per_task=False, n=4, T=5, nan=True):
    d = tmp_path / "bb"
    d.mkdir()
    hps = pd.DataFrame({"lr": 10.0 ** -np.arange(1, n + 1), "units": [16, 32, 64, 128][:n],
                        "act": ["relu", "tanh", "relu", "tanh"][:n]})
    rng = np.random.default_rng(1)
    ev = np.zeros((2, n, 2, T, 2), dtype=np.float32)  # tasks, configs, seeds, fids, objs
    ev[..., 0] = rng.random((2, n, 2, T)) * 0.5 + 0.5 / np.arange(1, T + 1)
    ev[..., 1] = np.cumsum(np.full((2, n, 2, T), 3.0), axis=-1)  # elapsed time
    if nan:
        ev[0, 1, 0, 2, 0] = np.nan
    md = {"objectives_names": ["metric_valid_error", "metric_elapsed_time"],
          "task_names": ["cifar10", "cifar100"], "default_metric": "metric_valid_error",
          "metric_elapsed_time": "metric_elapsed_time"}
    cs = {"lr": {"domain_cls": "LogUniform", "lower": 1e-5, "upper": 1.0},
          "units": {"domain_cls": "Integer", "lower": 16, "upper": 128},
          "act": {"domain_cls": "Categorical", "categories": ["relu", "tanh"]}}
    (d / "configspace.json").write_text(json.dumps(cs))
    (d / "metadata.json").write_text(json.dumps(md))
    fid = np.arange(1, T + 1)
    if per_task:
        for k, task in enumerate(md["task_names"]):
            hps.to_parquet(d / f"{task}-hyperparameters.parquet", index=False)
            np.save(d / f"{task}-objectives_evaluations.npy", ev[k])
            np.save(d / f"{task}-fidelity_values.npy", fid)
    else:
        hps.to_parquet(d / "hyperparameters.parquet", index=False)
        np.save(d / "objectives_evaluations.npy", ev)
        np.save(d / "fidelities_values.npy", fid)
    return str(d), ev


@pytest.mark.parametrize("per_task", [False, True])
def test_synetune_folder(tmp_path, per_task):
    p, ev = folder(tmp_path, per_task)
    with pytest.raises(ValueError, match="holds 2 datasets"):
        import_table("synetune", p)
    t = import_table("synetune", p, dataset="cifar10", seed=1)
    check_common(t, "min")
    assert (t.n, t.T) == (4, 5)
    np.testing.assert_allclose(t.acc, ev[0, :, 1, :, 0], rtol=1e-6)
    np.testing.assert_allclose(t.time, 3.0)
    assert t.meta["time_source"] == "measured"
    kinds = {f["name"]: f["kind"] for f in t.meta["features"]}
    assert kinds["lr"] == "log" and kinds["units"] == "linear" and kinds["act"] == "binary"
    m = import_table("synetune", p, dataset="cifar10")  # mean over seeds; seed 0 has a NaN
    assert m.n_finished().tolist()[1] == 2 and m.meta["n_failed_runs"] == 1
    np.testing.assert_allclose(m.acc[0], ev[0, 0, :, :, 0].mean(axis=0), rtol=1e-6)


def test_synetune_errors(tmp_path):
    p, _ = folder(tmp_path)
    with pytest.raises(ValueError, match="metric='acc' is not an objective"):
        import_table("synetune", p, dataset="cifar10", metric="acc")
    with pytest.raises(ValueError, match="seed must be an int in \\[0, 1\\]"):
        import_table("synetune", p, dataset="cifar10", seed=5)
    with pytest.raises(ValueError, match="mode must be"):
        import_table("synetune", p, dataset="cifar10", mode="up")
    np.save(tmp_path / "bb" / "objectives_evaluations.npy", np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ImportFormatError, match="must have 5 dimensions"):
        import_table("synetune", p, dataset="cifar10")
    np.save(tmp_path / "bb" / "objectives_evaluations.npy", np.array([[["a"]]] * 1))
    with pytest.raises(ImportFormatError, match="must be numeric"):
        import_table("synetune", p, dataset="cifar10")
    (tmp_path / "bb" / "metadata.json").write_text(json.dumps({"task_names": ["x"]}))
    with pytest.raises(ImportFormatError, match="lacks the list 'objectives_names'"):
        import_table("synetune", p)
    with pytest.raises(FileNotFoundError, match="no Syne Tune blackbox folder"):
        import_table("synetune", str(tmp_path / "nothing"))


def test_synetune_refuses_pickled_npy(tmp_path):
    p, _ = folder(tmp_path)
    np.save(tmp_path / "bb" / "objectives_evaluations.npy",
            np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ImportFormatError, match="no pickles"):
        import_table("synetune", p, dataset="cifar10")
