import os

import numpy as np
import pytest
from _import_helpers import check_common, curves_dir

import lcore
from lcore.tables import ImportFormatError, import_table
from lcore.tables.baker2018 import metaqnn_features

REAL = os.path.join(curves_dir(), "baker2018")

METAQNN = (
    "net,training_dataset,num_params,depth,lr,acc_1,acc_2,acc_3\n"
    '"[C(64,1,1), C(128,3,1), D(1,3), P(2,2), GAP(10), SM(10)]",cifar10,370112,4,0.001,'
    "0.30,0.40,0.45\n"
    '"[C(256,5,2), P(3,2), FC(512), FC(128), SM(10)]",cifar10,1200000,4,0.0001,0.1,0.2,0.3\n'
    '"[C(32,3,1), SM(10)]",cifar10,5000,1,0.00003,0.11,0.1,0.12\n'
)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_metaqnn_layout(tmp_path):
    t = import_table("baker2018", write(tmp_path, "metaqnn_cifar10.csv", METAQNN))
    check_common(t, "max")
    assert (t.n, t.T) == (3, 3)
    assert t.metric == "val_accuracy" and t.meta["chance"] == 0.1
    assert t.meta["dataset"] == "cifar10" and t.meta["initial_column"] == "none"
    np.testing.assert_allclose(t.acc[0], [0.30, 0.40, 0.45], rtol=1e-6)
    assert t.meta["time_source"] == "one unit per epoch" and (t.time == 1).all()
    names = [f["name"] for f in t.meta["features"]]
    assert {"num_params", "lr", "depth", "n_conv", "conv_filters_total"} <= set(names)
    lr = t.meta["features"][names.index("lr")]
    assert lr["kind"] == "log" and lr["min"] == pytest.approx(3e-5)
    # lr: log scale min-max -> row 1 (1e-4) sits at log(1e-4/3e-5)/log(1e-3/3e-5)
    u = t.unit[1, names.index("lr")]
    assert u == pytest.approx(np.log(1e-4 / 3e-5) / np.log(1e-3 / 3e-5))
    assert "training_dataset" in [d["column"] for d in t.meta["features_dropped"]]
    assert list(t.params["net"])[2] == "[C(32,3,1), SM(10)]"


def test_metaqnn_summary_numbers():
    f = metaqnn_features(["[C(64,1,1), C(128,3,2), D(1,3), P(2,2), FC(100), GAP(10), SM(10)]",
                          "[C(8,5,1), SM(10)]"])
    assert f["n_conv"].tolist() == [2, 1] and f["n_pool"].tolist() == [1, 0]
    assert f["n_fc"].tolist() == [1, 0] and f["n_dropout"].tolist() == [1, 0]
    assert f["gap"].tolist() == [1, 0]
    assert f["conv_filters_total"].tolist() == [192, 8]
    assert f["conv_filters_max"].tolist() == [128, 8]
    assert f["conv_field_mean"].tolist() == [2.0, 5.0]
    assert f["conv_stride_max"].tolist() == [2, 1]
    assert f["fc_units_total"].tolist() == [100, 0]
    with pytest.raises(ImportFormatError, match="MetaQNN layer string"):
        metaqnn_features(["not a net"])


def test_perplexity_file_drops_untrained_column(tmp_path):
    text = ("base_model,training_dataset,n_layer,n_inputs,base_lr,ss,ep_0,ep_1,ep_2\n"
            "lstm,penntreebank,2,90,0.1,15000,296,204.5,177.4\n"
            "lstm,penntreebank,3,330,0.1,15000,286.3,196.9,159\n")
    t = import_table("baker2018", write(tmp_path, "lstm_ptb.csv", text))
    check_common(t, "min")
    assert t.metric == "val_perplexity" and t.T == 2
    assert t.meta["initial_column"] == "dropped"
    np.testing.assert_allclose(t.acc[:, 0], [204.5, 196.9], rtol=1e-6)
    assert "chance" not in t.meta
    keep = import_table("baker2018", str(tmp_path / "lstm_ptb.csv"), initial="keep")
    assert keep.T == 3 and keep.meta["initial_column"] == "kept"
    # lower is better: the top row is the one with the smallest final perplexity
    assert t.resolve_goal("top50%") == pytest.approx(159.0)


def test_other_repository_layouts_import_unchanged(tmp_path):
    # cudaconvnet-style (no net, acc_1..), resnet-style (acc_0 = untrained) layouts
    conv = ("lr,ss,c1_l2,c2_l2,c3_l2,f4_l2,lrn_scale,lrn_pow,acc_1,acc_2\n"
            "0.01,10,0.001,0.002,0.003,0.01,0.0001,0.75,0.2,0.5\n"
            "0.001,20,0.004,0.001,0.001,0.1,0.001,0.5,0.1,0.3\n")
    t = import_table("baker2018", write(tmp_path, "cudaconvnet_cifar10.csv", conv))
    check_common(t, "max")
    assert t.T == 2 and t.d == 8 and t.meta["dataset"] == "cifar10"
    res = ("num_params,lr,acc_0,acc_1,acc_2,acc_3\n"
           "282804,0.001,0.10,0.35,0.47,0.49\n" "126600,0.0004,0.09,0.30,0.40,0.41\n")
    t2 = import_table("baker2018", write(tmp_path, "deep_resnets_cifar10.csv", res))
    assert t2.T == 3 and t2.meta["initial_column"] == "dropped"
    np.testing.assert_allclose(t2.acc[0], [0.35, 0.47, 0.49], rtol=1e-6)


def test_nan_and_inf_make_failed_runs(tmp_path):
    text = ("lr,acc_1,acc_2,acc_3\n0.1,0.2,nan,0.4\n0.01,0.3,0.5,inf\n0.001,0.3,0.4,0.5\n"
            "0.002,,,\n")
    t = import_table("baker2018", write(tmp_path, "x.csv", text))
    assert t.meta["n_failed_runs"] == 3 and t.meta["n_nonfinite_values"] == 5
    assert t.n_finished().tolist() == [1, 2, 3, 0]
    assert np.isnan(t.acc[0, 1:]).all() and (t.time[0] == [1, 0, 0]).all()
    assert (t.time[3] == 0).all()


@pytest.mark.parametrize("text, match", [
    ("lr,x,y\n0.1,1,2\n", "no curve columns"),
    ("lr,acc_1,acc_3\n0.1,0.2,0.3\n", "numbered consecutively"),
    ("lr,acc_1,acc_2\n0.1,0.2,oops\n", "must hold numbers"),
    ("lr,acc_1,acc_2\n0.1,0.2,0.3,0.4,0.5\n0.2,0.1,0.1\n", "readable CSV"),
    ("lr,acc_0\n0.1,0.2\n", "only the untrained"),
    ("lr,acc_1\n,0.2\n0.1,0.3\n", "missing values"),
])
def test_malformed_files_are_refused(tmp_path, text, match):
    with pytest.raises(ImportFormatError, match=match):
        import_table("baker2018", write(tmp_path, "bad.csv", text))


def test_accuracy_out_of_range_is_refused(tmp_path):
    p = write(tmp_path, "acc.csv", "lr,acc_1,acc_2\n0.1,0.2,0.3\n0.2,0.3,-0.5\n")
    with pytest.raises(ImportFormatError, match=r"must lie in \[0, 1\]"):
        import_table("baker2018", p, metric="val_accuracy")


def test_options_are_checked(tmp_path):
    p = write(tmp_path, "metaqnn_cifar10.csv", METAQNN)
    with pytest.raises(ValueError, match="initial must be"):
        import_table("baker2018", p, initial="maybe")
    with pytest.raises(ValueError, match="metric must be"):
        import_table("baker2018", p, metric="loss")
    with pytest.raises(ValueError, match="dataset='svhn' is not in"):
        import_table("baker2018", p, dataset="svhn")
    assert import_table("baker2018", p, dataset="cifar10").n == 3
    with pytest.raises(FileNotFoundError, match="no Baker"):
        import_table("baker2018", str(tmp_path / "none.csv"))


@pytest.mark.skipif(not os.path.isdir(REAL), reason="the real Baker et al. files are not here")
@pytest.mark.parametrize("stem, n, T, mode", [
    ("metaqnn_cifar10", 1000, 20, "max"), ("metaqnn_svhn", 1300, 20, "max"),
    ("deep_resnets_cifar10", 486, 49, "max"), ("lstm_ptb", 280, 59, "min")])
def test_real_files(stem, n, T, mode):
    t = import_table("baker2018", os.path.join(REAL, stem + ".csv"))
    check_common(t, mode)
    assert (t.n, t.T) == (n, T)
    shipped = lcore.load_table("baker2018_" + stem)
    np.testing.assert_array_equal(shipped.acc, t.acc)
    np.testing.assert_array_equal(shipped.unit, t.unit)
