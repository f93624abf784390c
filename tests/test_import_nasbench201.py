import bz2
import os
import pickle

import numpy as np
import pytest
from _import_helpers import check_common

from lcore.tables import ImportFormatError, import_table
from lcore.tables.nasbench201 import UnsafePickleError, arch_ops, safe_load

ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
         "skip_connect~2|",
         "|none~0|+|skip_connect~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|"]


def entry(i, seed, T=4):
    acc = {}
    ev_t = {}
    for e in range(T):
        acc[f"x-valid@{e}"] = 10.0 + 20.0 * i + 5.0 * e + (seed - 777) / 100
        acc[f"ori-test@{e}"] = 11.0 + 20.0 * i + 5.0 * e
        ev_t[f"x-valid@{e}"] = 0.5
        ev_t[f"ori-test@{e}"] = 0.5
    return {"name": "infer.tiny", "dataset": "cifar100", "seed": seed, "flop": 10.0,
            "params": 0.1, "train_acc1es": {e: 30.0 for e in range(T)},
            "train_times": {e: 10.0 + i for e in range(T)}, "eval_acc1es": acc,
            "eval_times": ev_t}


def nats(seeds=((777, 888), (777,), ()), T=4):
    a2i = {}
    for i, arch in enumerate(ARCHS):
        res = {("cifar100", s): entry(i, s, T) for s in seeds[i]}
        res[("cifar10", 777)] = {k: v for k, v in entry(i, 777, T).items()}
        res[("cifar10", 777)]["eval_acc1es"] = {f"ori-test@{e}": 50.0 for e in range(T)}
        a2i[i] = {"12": {"arch_str": arch, "all_results": {}},
                  "200": {"arch_str": arch, "all_results": res}}
    return {"total_archs": len(ARCHS), "arch2infos": a2i, "evaluated_indexes": [0, 1, 2],
            "meta_archs": ARCHS}


def write(tmp_path, data, compress=True):
    raw = pickle.dumps(data, protocol=4)
    p = tmp_path / ("NATS-tss-v1_0-3ffb9.pickle.pbz2" if compress else "nats.pickle")
    p.write_bytes(bz2.compress(raw) if compress else raw)
    return str(p)


def test_nats_layout(tmp_path):
    p = write(tmp_path, nats())
    with pytest.raises(ValueError, match="holds 2 datasets"):
        import_table("nasbench201", p)
    t = import_table("nasbench201", p, dataset="cifar100")
    check_common(t, "max")
    assert (t.n, t.T, t.d) == (3, 4, 30) or (t.n, t.T) == (3, 4)
    # seed-averaged: arch 0 has seeds 777 and 888 -> mean of (x + 0) and (x + 1.11) / 100
    want0 = (10.0 + 5.0 * np.arange(4) + 1.11 / 2) / 100
    np.testing.assert_allclose(t.acc[0], want0, rtol=1e-6)
    assert t.n_finished().tolist() == [4, 4, 0]  # arch 2 has no cifar100 results
    np.testing.assert_allclose(t.time[1], 11.5)  # train 11 s + eval 0.5 s per epoch
    assert t.meta["time_source"] == "measured" and t.meta["chance"] == 0.01
    assert all(f["kind"] in ("onehot", "binary") for f in t.meta["features"])
    s = import_table("nasbench201", write(tmp_path, nats(), compress=False),
                     dataset="cifar100", seed=888)
    np.testing.assert_allclose(s.acc[0], (10.0 + 5.0 * np.arange(4) + 1.11) / 100, rtol=1e-6)
    assert s.n_finished().tolist() == [4, 0, 0]
    test = import_table("nasbench201", p, dataset="cifar100", split="ori-test")
    assert test.metric == "ori-test_accuracy"
    with pytest.raises(ValueError, match=r"split='x-valid' is not recorded .*'ori-test'"):
        import_table("nasbench201", p, dataset="cifar10")
    with pytest.raises(ValueError, match="seed must be 'mean' or one of"):
        import_table("nasbench201", p, dataset="cifar100", seed=1)


def test_arch_ops():
    assert arch_ops(ARCHS[1]) == ["none", "skip_connect", "none", "skip_connect",
                                  "nor_conv_1x1", "none"]
    with pytest.raises(ImportFormatError, match="6 edges"):
        arch_ops("|none~0|+|none~0|")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lcore_evil_marker_h13",))


def test_malicious_pickle_is_refused(tmp_path):
    marker = "/tmp/lcore_evil_marker_h13"
    if os.path.exists(marker):
        os.unlink(marker)
    data = nats()
    data["arch2infos"][0]["200"]["all_results"][("cifar100", 777)]["flop"] = Evil()
    p = write(tmp_path, data)
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle (posix|os|nt)\.system"):
        import_table("nasbench201", p, dataset="cifar100")
    assert not os.path.exists(marker)
    # numpy objects are not plain data either
    p2 = tmp_path / "np.pickle"
    p2.write_bytes(pickle.dumps({"x": np.float64(1.0)}))
    with open(p2, "rb") as f, pytest.raises(UnsafePickleError, match="refusing to unpickle"):
        safe_load(f)


def test_malformed_nats(tmp_path):
    with pytest.raises(ImportFormatError, match="expected a dict with 'arch2infos'"):
        import_table("nasbench201", write(tmp_path, [1, 2, 3]))
    d = nats()
    del d["arch2infos"][1]["200"]
    with pytest.raises(ImportFormatError, match="architecture 1 lacks results for hp='200'"):
        import_table("nasbench201", write(tmp_path, d), dataset="cifar100")
    d = nats()
    del d["arch2infos"][1]["200"]["all_results"][("cifar100", 777)]["eval_acc1es"]["x-valid@3"]
    with pytest.raises(ImportFormatError, match="ragged curves"):
        import_table("nasbench201", write(tmp_path, d), dataset="cifar100")
    d = nats()
    d["arch2infos"][0]["200"]["all_results"][("cifar100", 777)]["eval_acc1es"]["x-valid@1"] = "9"
    with pytest.raises(ImportFormatError, match="must be a number"):
        import_table("nasbench201", write(tmp_path, d), dataset="cifar100")
    bad = tmp_path / "trunc.pickle"
    bad.write_bytes(pickle.dumps(nats())[:50])
    with pytest.raises(ImportFormatError, match="not a readable pickle"):
        import_table("nasbench201", str(bad))
