"""Builds libprise from the Rust crate with setuptools-rust and installs it inside the
package, so that `import prise` finds it with no environment variable.

In the repository the crate is ../Cargo.toml: cargo builds into the repository's
target/ with the crate types `make` builds, so after `make` cargo finds the library
fresh and it is only copied. In an sdist the crate is the copy `cargo package` made in
crate/ (see SdistWithCrate), built on its own. The wheel is self-contained either way.
"""

import glob
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

from setuptools import setup
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension

IN_SDIST = os.path.join("crate", "Cargo.toml")
IN_REPOSITORY = os.path.join("..", "Cargo.toml")


def metadata(manifest):
    """cargo's description of the prise package of `manifest`."""
    out = subprocess.check_output(["cargo", "metadata", "--no-deps", "--format-version", "1",
                                   "--manifest-path", manifest])
    return next(p for p in json.loads(out)["packages"] if p["name"] == "prise")


def crate():
    """(manifest, extra cargo arguments) of the crate to build."""
    if os.path.exists(IN_SDIST):
        return IN_SDIST, []
    library = next(t for t in metadata(IN_REPOSITORY)["targets"] if "cdylib" in t["kind"])
    return IN_REPOSITORY, ["--crate-type", ",".join(library["crate_types"])]


class SdistWithCrate(sdist):
    """An sdist that carries the crate's own source package (`cargo package`) in crate/,
    with a manifest that stands alone, so the sdist builds away from the repository."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = os.path.join(base_dir, "crate")
        if os.path.exists(IN_SDIST):  # an sdist made from an sdist
            shutil.copytree("crate", target)
            return
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.check_call(["cargo", "package", "-p", "prise", "--no-verify",
                                   "--allow-dirty", "--quiet", "--manifest-path", IN_REPOSITORY,
                                   "--target-dir", scratch])
            (packaged,) = glob.glob(os.path.join(scratch, "package", "prise-*.crate"))
            with tarfile.open(packaged) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(scratch, filter="data")
                else:
                    archive.extractall(scratch)
            (unpacked,) = [p for p in glob.glob(os.path.join(scratch, "prise-*")) if os.path.isdir(p)]
            shutil.copytree(unpacked, target)


manifest, cargo_args = crate()
setup(
    version=metadata(manifest)["version"],
    rust_extensions=[RustExtension("prise.libprise", path=manifest, binding=Binding.NoBinding,
                                   args=cargo_args, py_limited_api=True)],
    cmdclass={"sdist": SdistWithCrate},
    # The library does not use Python's C API: one wheel serves every Python 3.8+.
    options={"bdist_wheel": {"py_limited_api": "cp38"}},
)
