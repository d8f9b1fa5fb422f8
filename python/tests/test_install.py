"""`pip install ./python` then `import prise` works in a fresh virtual environment."""

import os
import shutil
import subprocess
import venv

from conftest import REPO


def test_pip_install_and_import(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = str(env_dir / "bin" / "python")
    # Install from a copy: setuptools builds in the source tree it is given.
    source = tmp_path / "source"
    shutil.copytree(os.path.join(REPO, "python"), source,
                    ignore=shutil.ignore_patterns(".venv", "build", "*.egg-info", "__pycache__"))
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-build-isolation",
         str(source)],
        capture_output=True, text=True, timeout=300)
    if install.returncode != 0 and "setuptools" in install.stderr:
        # A venv without setuptools: let pip fetch the build backend.
        install = subprocess.run([python, "-m", "pip", "install", "--quiet", str(source)],
                                 capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = dict(os.environ)
    check = subprocess.run(
        [python, "-c", "import prise, sys; print(prise.version(), prise.__file__)"],
        capture_output=True, text=True, timeout=60, cwd=str(tmp_path), env=env)
    assert check.returncode == 0, check.stderr
    assert "site-packages" in check.stdout
    # Without any way to find the library, the ImportError says where it looked.
    env.pop("PRISE_LIBRARY", None)
    env["LD_LIBRARY_PATH"] = ""
    missing = subprocess.run([python, "-c", "import prise"], capture_output=True, text=True,
                             timeout=60, cwd=str(tmp_path), env=env)
    if missing.returncode != 0:
        assert "libprise.so was not found" in missing.stderr
        assert "make" in missing.stderr
