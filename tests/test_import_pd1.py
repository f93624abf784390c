import gzip
import json

import numpy as np
import pytest
from _import_helpers import check_common

from lcore.tables import ImportFormatError, import_table
from lcore.tables.pd1 import task_name


def rec(i, err, model="resnet", bs=256, act=None):
    n = None if err is None else len(err)
    return {"dataset": "imagenet", "model": model, "hps.batch_size": bs,
            "hps.activation_fn": act,
            "hps.lr_hparams.initial_value": 10.0 ** (-3 + i),
            "hps.lr_hparams.power": 0.5 + 0.5 * i, "hps.lr_hparams.decay_steps_factor": 0.9,
            "hps.opt_hparams.momentum": 0.01 * (i + 1),
            "valid/error_rate": err, "valid/ce_loss": err,
            "eval_time": None if n is None else [10.0] * n,
            "global_step": None if n is None else list(range(0, 100 * n, 100)),
            "epoch": None if n is None else list(range(n))}


def pd1(tmp_path, records, gz=True):
    p = tmp_path / ("pd1_matched_phase1_results.jsonl" + (".gz" if gz else ""))
    text = "\n".join(json.dumps(r) for r in records) + "\n"
    if gz:
        with gzip.open(p, "wt") as f:
            f.write(text)
    else:
        p.write_text(text)
    return str(p)


def test_pd1_layout(tmp_path):
    recs = [rec(0, [0.9, 0.5, 0.4]), rec(1, [0.9, 0.6]), rec(2, None),
            rec(0, [0.8, 0.7, 0.3], model="wide_resnet", act="relu")]
    p = pd1(tmp_path, recs)
    assert task_name(recs[3]) == "imagenet_wide_resnet_relu_batch_size_256"
    with pytest.raises(ValueError, match="holds 2 datasets; pick one"):
        import_table("pd1", p)
    t = import_table("pd1", p, dataset="imagenet_resnet_batch_size_256")
    check_common(t, "min")
    assert (t.n, t.T) == (3, 3) and t.meta["n_short_runs"] == 2
    assert t.n_finished().tolist() == [3, 2, 0]
    assert t.meta["time_source"] == "measured" and t.time[0].tolist() == [10.0] * 3
    assert t.time[2].tolist() == [0.0] * 3
    kinds = {f["name"]: f["kind"] for f in t.meta["features"]}
    assert kinds["hps.lr_hparams.initial_value"] == "log"
    t2 = import_table("pd1", pd1(tmp_path, recs, gz=False),
                      dataset="imagenet_wide_resnet_relu_batch_size_256", metric="valid/ce_loss")
    assert t2.n == 1 and t2.metric == "valid_ce_loss"


def test_pd1_malformed(tmp_path):
    r = rec(0, [0.9, 0.5])
    del r["hps.lr_hparams.power"]
    with pytest.raises(ImportFormatError, match=r"record 0 lacks \['hps.lr_hparams.power'\]"):
        import_table("pd1", pd1(tmp_path, [r]))
    r = rec(0, [0.9, "x"])
    with pytest.raises(ImportFormatError, match="must be a number"):
        import_table("pd1", pd1(tmp_path, [r]))
    r = rec(0, [0.9, 0.5])
    r["eval_time"] = [1.0]
    with pytest.raises(ImportFormatError, match="eval_time has 1 values"):
        import_table("pd1", pd1(tmp_path, [r]))
    p = tmp_path / "broken.jsonl"
    p.write_text('{"dataset": 1}\nnot json\n')
    with pytest.raises(ImportFormatError, match="line 2 is not JSON"):
        import_table("pd1", str(p))
    with pytest.raises(ValueError, match="metric must be one of"):
        import_table("pd1", str(p), metric="acc")


def test_pd1_nan_curve_is_a_failed_run(tmp_path):
    t = import_table("pd1", pd1(tmp_path, [rec(0, [0.9, float("nan"), 0.3]),
                                           rec(1, [0.9, 0.5, 0.3])]))
    assert t.n_finished().tolist() == [1, 3]
    assert t.meta["n_failed_runs"] == 1
    assert np.isnan(t.acc[0, 1:]).all()
