"""Importers: lookup tables from the files public benchmarks publish, in their own formats.

    lcore.import_table("baker2018", "metaqnn_cifar10.csv")
    lcore.import_table("taskset", "FixedTextRNNClassification_imdb_patch32_GRU128_bs128.json")
    lcore.import_table("taskset", "TASK/adam8p_wide_grid_1k_10000_replica5.npz",
                       configs="adam8p_wide_grid.json")
    lcore.import_table("lcbench", "data_2k_lw.json", dataset="credit-g")
    lcore.import_table("nasbench201", "NATS-tss-v1_0-3ffb9.pickle.pbz2", dataset="cifar100")
    lcore.import_table("fcnet", "fcnet_protein_structure_data.hdf5")
    lcore.import_table("pd1", "pd1_matched_phase1_results.jsonl.gz", dataset="...")
    lcore.import_table("synetune", "blackbox_folder/", dataset="...")

One module per format (``lcore.tables.<format>``), each reading that format and nothing else;
all return a :class:`~lcore.table.LookupTable` with the same ``meta`` keys (see
:mod:`lcore.tables._common`). :func:`lcore.tables.fetch.fetch` downloads the data sets lcore
may not ship.
"""

from __future__ import annotations

import importlib
import inspect

from lcore.tables._common import ImportFormatError

__all__ = ["import_table", "FORMATS", "ImportFormatError", "format_options"]

#: format name -> module under lcore.tables
FORMATS = {
    "baker2018": "baker2018",
    "taskset": "taskset",
    "lcbench": "lcbench",
    "nasbench201": "nasbench201",
    "fcnet": "fcnet",
    "pd1": "pd1",
    "synetune": "synetune",
}


def _reader(fmt: str):
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    return importlib.import_module(f"lcore.tables.{FORMATS[fmt]}").read


def format_options(fmt: str) -> list[str]:
    """The keyword options ``import_table`` accepts for ``fmt``."""
    sig = inspect.signature(_reader(fmt))
    return [k for k in list(sig.parameters)[1:] if k not in ("data", "records")]


def import_table(format: str, path, **options):  # noqa: A002 - the documented name
    """Build a lookup table from a benchmark's own file.

    Parameters
    ----------
    format : str
        One of :data:`FORMATS`: ``"baker2018"``, ``"taskset"``, ``"lcbench"``,
        ``"nasbench201"``, ``"fcnet"``, ``"pd1"``, ``"synetune"``.
    path : str or path
        The file (a folder for ``"synetune"``).
    **options
        The format's options (see ``lcore.tables.<format>.read``); ``dataset=`` picks one
        dataset / task where a file holds several.

    Returns
    -------
    LookupTable
        ``acc`` (n, T) holds the metric (``meta["metric"]``, direction ``meta["mode"]``),
        ``time`` (n, T) the epoch cost (``meta["time_source"]``), ``unit`` (n, d) features in
        [0, 1] (``meta["features"]``).
    """
    read = _reader(format)
    allowed = format_options(format)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"import_table({format!r}) got unknown options {unknown}; it takes "
                        f"{allowed}")
    return read(path, **options)
