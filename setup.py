"""Builds the trading venue's compiled core (Cython). Everything else is in pyproject.toml.

``pip install -e .`` cythonizes ``src/lionrock/trading/_fastbook.pyx``; the generated ``.c`` and
the ``.so`` are build products (gitignored). Without a compiler the package still works: the
venue falls back to its pure-Python book and path (set ``LIONROCK_NO_EXT=1`` to skip the build).
"""

import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("LIONROCK_NO_EXT"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("lionrock.trading._fastbook", ["src/lionrock/trading/_fastbook.pyx"], extra_compile_args=["-O3"])],
        compiler_directives={"language_level": "3"},
    )

setup(ext_modules=ext_modules)
