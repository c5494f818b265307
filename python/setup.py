"""Installs the pure-Python sgm package (no compiled code, no build
dependencies beyond setuptools). The package loads libsgm.so at import:
set SGM_LIBRARY, or install the library (make install) where the loader
finds it. `SGM_BUNDLE_LIB=/path/libsgm.so pip install ./python` also copies
that library into the package."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        lib = os.environ.get("SGM_BUNDLE_LIB")
        if lib:
            shutil.copy(lib, os.path.join(self.build_lib, "sgm", "libsgm.so"))


setup(name="sgm", version="0.1.0", description="score-based diffusion models (ctypes over libsgm)",
      packages=["sgm"], python_requires=">=3.8", install_requires=["numpy"],
      cmdclass={"build_py": BuildPy})
