"""Builds the trading venue's compiled core (Cython). Everything else is in pyproject.toml.

``pip install -e .`` cythonizes ``src/lionrock/trading/_fastbook.pyx`` (Cython is a build
requirement in pyproject.toml); the generated ``.c`` and the ``.so`` are build products
(gitignored). The extension is optional: if it cannot be compiled (no C compiler) the install
goes on with a warning and the venue runs its pure-Python book and path; ``LIONROCK_NO_EXT=1``
skips it on purpose. After editing the ``.pyx``, rebuild with ``pip install -e .`` (or
``python setup.py build_ext --inplace``).
"""

import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("LIONROCK_NO_EXT"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [
            Extension(
                "lionrock.trading._fastbook",
                ["src/lionrock/trading/_fastbook.pyx"],
                extra_compile_args=["-O3"],
            )
        ],
        compiler_directives={"language_level": "3"},
    )
    for ext in ext_modules:
        ext.optional = True  # (cythonize does not carry this attribute over)

setup(ext_modules=ext_modules)
