"""Download the benchmark data lcore may not ship, with a checksum check.

``lcore table fetch NAME --root DIR`` (or :func:`fetch`) downloads the archive of ``NAME``
into ``DIR`` (unless it is already there), checks it, and unpacks it (zip / tar, refusing
members that would land outside ``DIR`` and links).

Checksums. No SHA-256 of these four archives could be found published, neither by their
publishers (LCBench's figshare files, the FCNet tarball on ml4aad.org, NATS-Bench's Google
Drive file, PD1's bucket) nor in the download code of projects that fetch them (Syne Tune's
blackbox-repository conversion scripts, HPOBench's and mf-prior-bench's set-up code check
none), so lcore pins none. What it checks, in order:

1. ``sha256=`` (``--sha256``) given by the caller: compared; a mismatch deletes the file.
2. Otherwise an MD5 listed in a public repository, where one is (``SOURCES[name]["md5"]``,
   with ``md5_source`` saying where: the READMEs of sumny/hpodash for LCBench's
   ``data_2k_lw.zip``, FCNet's tarball and PD1's tarball). That is a third party's value,
   not the publisher's, and lcore could not download the files to confirm it; a mismatch
   deletes the file and says so (pass ``--sha256`` to decide yourself).
3. NAS-Bench-201's file name carries 5 hex digits of its MD5 (``3ffb9``; NATS-Bench's
   README names its files ``NATS-tss-v1_0-[md5sum]...`` without saying which 5): the MD5 must
   start or end with them.
4. Trust on first use: the SHA-256 of the first download that passes the checks above is
   written beside it (``<file>.sha256``, ``sha256sum`` format); every later fetch of the same
   file (re-downloaded or already there) is compared with it and refused on a mismatch
   (the file is kept; delete the record or pass ``--sha256`` once you trust the new one).

On a machine without network access, :class:`FetchError` says where to download the file
by hand.
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


_HPODASH = "github.com/sumny/hpodash (a third party), {}/README.md"

#: name -> where the data are published. ``sha256``: pinned checksum (None: none is published);
#: ``md5`` / ``md5_source``: an MD5 listed publicly for the same file and where it is listed.
SOURCES = {
    "lcbench": {
        "url": "https://figshare.com/ndownloader/files/21188598",
        "file": "data_2k_lw.zip",
        "sha256": None,
        "md5": "26c8493006358a15ce12041c0bfc12a2",
        "md5_source": _HPODASH.format("lcbench"),
        "format": "lcbench",
        "import_path": "data_2k_lw.json",
        "about": "LCBench, 2,000 configurations x 35 OpenML datasets x 52 epochs (lightweight "
                 "logs); Apache-2.0",
    },
    "fcnet": {
        "url": "http://ml4aad.org/wp-content/uploads/2019/01/fcnet_tabular_benchmarks.tar.gz",
        "file": "fcnet_tabular_benchmarks.tar.gz",
        "sha256": None,
        "md5": "4fcb8e1d5de1552ebab923888014b848",
        "md5_source": _HPODASH.format("fcnet"),
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
        "md5": "e04c789cff8d5ddc9f2301e2ac02d0e3",
        "md5_source": _HPODASH.format("pd1"),
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


def _read_record(path: str) -> str:
    """The SHA-256 in a ``<file>.sha256`` record (``sha256sum`` format)."""
    try:
        with open(path, encoding="ascii") as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise FetchError(f"cannot read the checksum record {path}: {exc}") from None
    token = lines[0].split()[0].lower() if lines else ""
    if len(token) != 64 or any(c not in "0123456789abcdef" for c in token):
        raise FetchError(f"the checksum record {path} does not start with a SHA-256 (64 hex "
                         f"digits), got {token[:70]!r}; delete it to record the file again")
    return token


def _write_record(path: str, digest: str, file: str) -> None:
    tmp = path + ".part"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{digest}  {file}\n")
    os.replace(tmp, path)


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
        The expected SHA-256 (64 hex digits); when given, the listed MD5 and the first-use
        record are not consulted (the record is rewritten with it).
    timeout : float
        Seconds to wait for the server.
    opener : callable, optional
        ``urllib.request.urlopen`` by default (tests pass their own).

    Returns
    -------
    dict
        ``path`` (the downloaded file), ``sha256``, ``verified`` (bool: checked against a
        given, published or earlier recorded checksum), ``checks`` (what was checked, in
        words), ``record`` (the ``.sha256`` file), ``first_use`` (the record was written
        now, from this file), ``status`` (one line saying all that), ``extracted`` (member
        names), ``import_hint`` (the ``lcore table import`` command to run next).
    """
    if name not in SOURCES:
        raise ValueError(f"name must be one of {sorted(SOURCES)}, got {name!r}")
    if sha256 is not None and (not isinstance(sha256, str) or len(sha256) != 64
                               or any(c not in "0123456789abcdef" for c in sha256.lower())):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    src = SOURCES[name]
    root = os.fspath(root)
    os.makedirs(root, exist_ok=True)
    dest = os.path.join(root, src["file"])
    record = dest + ".sha256"
    if not os.path.exists(dest):
        _download(src["url"], dest, timeout, opener)
    digest = sha256sum(dest)
    checks: list[str] = []
    want = (sha256 or src.get("sha256") or "").lower() or None
    if want is not None:
        if digest != want:
            os.unlink(dest)
            raise FetchError(f"checksum mismatch for {dest}: SHA-256 {digest}, expected {want}; "
                             "the file was deleted (a partial or altered download)")
        checks.append("SHA-256 " + ("given with --sha256" if sha256 else "pinned in lcore"))
    elif src.get("md5"):
        md5 = _md5(dest)
        if md5 != src["md5"]:
            os.unlink(dest)
            raise FetchError(
                f"checksum mismatch for {dest}: MD5 {md5}, expected {src['md5']} (listed in "
                f"{src['md5_source']}); the file was deleted. If you trust a file you "
                f"downloaded yourself, pass its SHA-256 with --sha256 (it then replaces this "
                "check)"
            )
        checks.append(f"MD5 listed in {src['md5_source']}")
    if src.get("md5_prefix"):
        md5 = _md5(dest)
        frag = src["md5_prefix"]
        if not (md5.startswith(frag) or md5.endswith(frag)):
            os.unlink(dest)
            raise FetchError(f"checksum mismatch for {dest}: MD5 {md5} does not start or end "
                             f"with {frag} (the file name's checksum); file deleted")
        checks.append(f"MD5 fragment {frag} of the file name")
    first_use = False
    if sha256 is None and os.path.exists(record):
        recorded = _read_record(record)
        if recorded != digest:
            raise FetchError(
                f"{dest} has SHA-256 {digest}, but {record} recorded {recorded} when the file "
                "was first fetched: the file changed (an altered or different download). It "
                "was kept and not unpacked; if you trust it, delete the record or pass "
                "--sha256"
            )
        checks.append(f"SHA-256 recorded at the first fetch ({os.path.basename(record)})")
    else:
        first_use = not os.path.exists(record) or sha256 is not None
        _write_record(record, digest, src["file"])
    verified = bool(checks)
    extracted = _extract(dest, root)
    hint = (f"lcore table import {src['format']} {os.path.join(root, src['import_path'])} "
            f"--out {name}.npz")
    rec_txt = (f"SHA-256 recorded in {record}: later fetches are checked against it"
               if first_use else "")
    if verified:
        status = f"{dest}: SHA-256 {digest} (verified: {'; '.join(checks)})"
        if rec_txt:
            status += f"; {rec_txt}"
    else:
        status = (f"{dest}: SHA-256 {digest} (UNVERIFIED: no checksum of this file is "
                  f"published; {rec_txt} (trust on first use). Compare it with one you trust "
                  "or pass --sha256)")
    return {"path": dest, "sha256": digest, "verified": verified, "checks": checks,
            "record": record, "first_use": first_use, "status": status,
            "extracted": extracted, "import_hint": hint}
