"""Download the benchmark data lcore may not ship, with a checksum check.

``lcore table fetch NAME --root DIR`` (or :func:`fetch`) downloads the archive of ``NAME``
into ``DIR``, checks it, and unpacks it (zip / tar, refusing members that would land
outside ``DIR``). Checksums: a SHA-256 given by the caller (``sha256=``) or pinned in
:data:`SOURCES` is compared and a mismatch deletes the file; NAS-Bench-201's file name carries
the first 5 hex digits of its MD5, which are checked. Where no checksum is pinned and none is
given, the computed SHA-256 is written beside the file (``<file>.sha256``) and printed, and
the result says it is unverified: compare it with the one the publisher lists. On a machine
without network access, :class:`FetchError` says where to download the file by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tarfile
import urllib.error
import urllib.request
import zipfile

__all__ = ["SOURCES", "fetch", "FetchError", "sha256sum"]


class FetchError(ConnectionError):
    """A download that could not be made or checked."""


#: name -> where the data are published. ``sha256``: pinned checksum (None: not pinned).
SOURCES = {
    "lcbench": {
        "url": "https://figshare.com/ndownloader/files/21188598",
        "file": "data_2k_lw.zip",
        "sha256": None,
        "format": "lcbench",
        "import_path": "data_2k_lw.json",
        "about": "LCBench, 2,000 configurations x 35 OpenML datasets x 52 epochs (lightweight "
                 "logs); Apache-2.0",
    },
    "fcnet": {
        "url": "http://ml4aad.org/wp-content/uploads/2019/01/fcnet_tabular_benchmarks.tar.gz",
        "file": "fcnet_tabular_benchmarks.tar.gz",
        "sha256": None,
        "format": "fcnet",
        "import_path": "fcnet_tabular_benchmarks/fcnet_protein_structure_data.hdf5",
        "about": "FCNet / HPOLib, 62,208 configurations x 4 seeds x 100 epochs on 4 datasets",
    },
    "nasbench201": {
        "url": "https://docs.google.com/uc?export=download&confirm=t"
               "&id=1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul",
        "file": "NATS-tss-v1_0-3ffb9.pickle.pbz2",
        "sha256": None,
        "md5_prefix": "3ffb9",
        "format": "nasbench201",
        "import_path": "NATS-tss-v1_0-3ffb9.pickle.pbz2",
        "about": "NATS-Bench topology space (NAS-Bench-201), 15,625 cells x 3 datasets; MIT",
    },
    "pd1": {
        "url": "http://storage.googleapis.com/gresearch/pint/pd1.tar.gz",
        "file": "pd1.tar.gz",
        "sha256": None,
        "format": "pd1",
        "import_path": "pd1/pd1_matched_phase1_results.jsonl.gz",
        "about": "PD1 (HyperBO), deep-learning tuning runs on 23 tasks; CC BY 4.0",
    },
}


def sha256sum(path: str, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return h.hexdigest()
            h.update(b)


def _md5(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()  # noqa: S324 - the publisher's own file-name check
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return h.hexdigest()
            h.update(b)


def _download(url: str, dest: str, timeout: float, opener=None) -> None:
    tmp = dest + ".part"
    opener = opener or urllib.request.urlopen
    try:
        with opener(url, timeout=timeout) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f, 1 << 20)
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
            OSError) as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise FetchError(
            f"could not download {url} ({type(exc).__name__}: {exc}); this machine may be "
            f"offline. Download it by hand (on a machine with network access) and put it at "
            f"{dest}, then run the same command again: the file is then checked and unpacked"
        ) from None
    os.replace(tmp, dest)


def _extract(archive: str, root: str) -> list[str]:
    root_abs = os.path.realpath(root)

    def inside(name: str) -> bool:
        target = os.path.realpath(os.path.join(root_abs, name))
        return target == root_abs or target.startswith(root_abs + os.sep)

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            bad = [m for m in names if not inside(m)]
            if bad:
                raise FetchError(f"{archive} has members outside the folder: {bad[:3]}")
            z.extractall(root_abs)
            return names
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            members = t.getmembers()
            bad = [m.name for m in members if not inside(m.name) or m.issym() or m.islnk()]
            if bad:
                raise FetchError(f"{archive} has members outside the folder or links: {bad[:3]}")
            t.extractall(root_abs, members=members)
            return [m.name for m in members]
    return []


def fetch(name: str, root, sha256: str | None = None, timeout: float = 60.0,
          opener=None) -> dict:
    """Download (unless present), check and unpack the data of ``name`` into ``root``.

    Parameters
    ----------
    name : str
        One of :data:`SOURCES`.
    root : str or path
        Folder to put the data in (created if needed).
    sha256 : str, optional
        The expected SHA-256 (overrides a pinned one).
    timeout : float
        Seconds to wait for the server.
    opener : callable, optional
        ``urllib.request.urlopen`` by default (tests pass their own).

    Returns
    -------
    dict
        ``path`` (the downloaded file), ``sha256``, ``verified`` (bool), ``extracted``
        (member names), ``import_hint`` (the ``lcore table import`` command to run next).
    """
    if name not in SOURCES:
        raise ValueError(f"name must be one of {sorted(SOURCES)}, got {name!r}")
    if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdef"
                                                          for c in sha256.lower())):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    src = SOURCES[name]
    root = os.fspath(root)
    os.makedirs(root, exist_ok=True)
    dest = os.path.join(root, src["file"])
    if not os.path.exists(dest):
        _download(src["url"], dest, timeout, opener)
    digest = sha256sum(dest)
    want = (sha256 or src.get("sha256") or "").lower() or None
    verified = False
    if want is not None:
        if digest != want:
            os.unlink(dest)
            raise FetchError(f"checksum mismatch for {dest}: SHA-256 {digest}, expected {want}; "
                             "the file was deleted (a partial or altered download)")
        verified = True
    if src.get("md5_prefix"):
        md5 = _md5(dest)
        if not md5.startswith(src["md5_prefix"]):
            os.unlink(dest)
            raise FetchError(f"checksum mismatch for {dest}: MD5 {md5} does not start with "
                             f"{src['md5_prefix']} (the file name's checksum); file deleted")
        verified = True
    with open(dest + ".sha256", "w", encoding="ascii") as f:
        f.write(f"{digest}  {src['file']}\n")
    extracted = _extract(dest, root)
    hint = (f"lcore table import {src['format']} {os.path.join(root, src['import_path'])} "
            f"--out {name}.npz")
    return {"path": dest, "sha256": digest, "verified": verified, "extracted": extracted,
            "import_hint": hint}
