"""Build the Cython extensions of lcore/_core against the C99 kernels in csrc/.

Every extension ``lcore/_core/_NAME.pyx`` is compiled with ``csrc/lc_NAME.c`` (when it
exists) plus the kernels listed for it in ``C_DEPS`` (the replay loop calls the forest and
the acquisition kernels).  ``LCORE_EXT=_forest,_sobol`` limits a build to those
extensions (handy while another kernel is half-written).

The rf-ei chooser (csrc/lc_acq*.c) runs its ``n_threads`` option on POSIX threads
(``-pthread``; on Windows it runs on one thread).

``LCORE_SANITIZE=1`` builds the kernels with AddressSanitizer and UndefinedBehaviorSanitizer
(gcc or clang; ``-O1 -g``, any UBSan finding aborts).  Such a build needs the ASan runtime
loaded first: ``LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0``
(CI does this in ``.ci/run``).
"""

import glob
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


# the rf-ei chooser and the acquisition functions, split by concern (csrc/lc_acq.c says which)
ACQ = ["lc_acq", "lc_ei", "lc_acq_layout", "lc_acq_descent", "lc_acq_simd", "lc_acq_threads",
       "lc_predict_set"]
# extension -> extra C kernels it links (besides its own csrc/lc_NAME.c)
# the C stopping rules: the registry (lc_rules.c) and every csrc/lc_rule_*.c
RULES_C = ["lc_rules"] + sorted(
    os.path.splitext(os.path.basename(p))[0]
    for p in glob.glob(os.path.join(HERE, "csrc", "lc_rule_*.c"))
)
C_DEPS = {
    "_replay": ["lc_forest", *ACQ, *RULES_C],
    "_forest": ACQ,
}


def _c_sources(name):
    stems = [f"lc{name}"] + C_DEPS.get(name, [])
    paths = [os.path.join("csrc", f"{stem}.c") for stem in stems]
    return [p for p in paths if os.path.exists(os.path.join(HERE, p))]


def _extensions():
    only = {n for n in os.environ.get("LCORE_EXT", "").split(",") if n}
    cflags = ["-O3", "-fno-math-errno", "-ffp-contract=off", "-Wno-unused-function"]
    if sys.platform == "win32":
        cflags = ["/O2"]
    if os.environ.get("LCORE_NATIVE") == "1":
        cflags.append("-march=native")
    threads = [] if sys.platform == "win32" else ["-pthread"]
    sanitize = []
    if os.environ.get("LCORE_SANITIZE") == "1":
        sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                    "-fno-omit-frame-pointer", "-g"]
        cflags = [f for f in cflags if not f.startswith("-O")] + ["-O1"]
    exts = []
    for pyx in sorted(glob.glob(os.path.join(HERE, "lcore", "_core", "_*.pyx"))):
        name = os.path.splitext(os.path.basename(pyx))[0]
        if only and name not in only:
            continue
        sources = _c_sources(name)
        exts.append(
            Extension(
                f"lcore._core.{name}",
                sources=[os.path.relpath(pyx, HERE)] + sources,
                include_dirs=["csrc", np.get_include()],
                # a changed header rebuilds every extension (they are small)
                depends=sorted(os.path.relpath(h, HERE)
                               for h in glob.glob(os.path.join(HERE, "csrc", "*.h"))),
                extra_compile_args=cflags + threads + sanitize,
                extra_link_args=threads + sanitize,
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
