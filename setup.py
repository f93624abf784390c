"""Build the Cython extensions of lcore/_core against the C99 kernels in csrc/.

Every extension ``lcore/_core/_NAME.pyx`` is compiled with ``csrc/lc_NAME.c`` (when it
exists) plus the kernels listed for it in ``C_DEPS`` (the replay loop calls the forest and
the acquisition kernels).  ``LCORE_EXT=_forest,_sobol`` limits a build to those
extensions (handy while another kernel is half-written).

The rf-ei chooser (csrc/lc_acq.c) uses OpenMP for its ``n_threads`` option where the
compiler has it (probed below); ``LCORE_OPENMP=0`` builds without it (results are the same,
``n_threads`` is then 1).
"""

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


# extension -> extra C kernels it links (besides its own csrc/lc_NAME.c)
C_DEPS = {
    "_replay": ["lc_forest", "lc_acq"],
    "_forest": ["lc_acq"],
}


def _c_sources(name):
    stems = [f"lc{name}"] + C_DEPS.get(name, [])
    paths = [os.path.join("csrc", f"{stem}.c") for stem in stems]
    return [p for p in paths if os.path.exists(os.path.join(HERE, p))]


def _openmp_flags():
    """(compile, link) flags for OpenMP, or ([], []) where the C compiler lacks it."""
    if os.environ.get("LCORE_OPENMP", "1") == "0":
        return [], []
    if sys.platform == "win32":
        return ["/openmp"], []
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    if not cc or shutil.which(cc[0]) is None:
        return [], []
    flags = ["-fopenmp"]
    src = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        c_file = os.path.join(tmp, "probe.c")
        with open(c_file, "w") as f:
            f.write(src)
        try:
            ok = subprocess.run(cc + flags + [c_file, "-o", os.path.join(tmp, "probe")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
    if not ok:
        print("lcore: the C compiler has no OpenMP; the rf-ei chooser runs on one thread",
              file=sys.stderr)
        return [], []
    return flags, flags


def _extensions():
    only = {n for n in os.environ.get("LCORE_EXT", "").split(",") if n}
    cflags = ["-O3", "-fno-math-errno", "-ffp-contract=off", "-Wno-unused-function"]
    if sys.platform == "win32":
        cflags = ["/O2"]
    if os.environ.get("LCORE_NATIVE") == "1":
        cflags.append("-march=native")
    omp_c, omp_l = _openmp_flags()
    exts = []
    for pyx in sorted(glob.glob(os.path.join(HERE, "lcore", "_core", "_*.pyx"))):
        name = os.path.splitext(os.path.basename(pyx))[0]
        if only and name not in only:
            continue
        sources = _c_sources(name)
        omp = any(os.path.basename(p) == "lc_acq.c" for p in sources)
        exts.append(
            Extension(
                f"lcore._core.{name}",
                sources=[os.path.relpath(pyx, HERE)] + sources,
                include_dirs=["csrc", np.get_include()],
                extra_compile_args=cflags + (omp_c if omp else []),
                extra_link_args=omp_l if omp else [],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return exts


setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
    )
)
