"""The README's steps as a new user runs them: `pip install ./python` in a fresh virtual
environment, then `import prise` from another directory with no PRISE_LIBRARY; the
wheel carries the library; the sdist carries the crate; PRISE_LIBRARY still overrides.

Build dependencies come from python/.venv/wheels (the Makefile downloads them), so the
installs run offline (--no-index)."""

import glob
import os
import subprocess
import sys
import tarfile
import venv
import zipfile

import pytest

from conftest import REPO

WHEELS = os.path.join(REPO, "python", ".venv", "wheels")
SOURCE = os.path.join(REPO, "python")

# Imported from outside the repository: a real exchange over prise sockets, then where
# the library came from.
CHECK = """
import prise
a, b = prise.socketpair()
a.sendall(b"ping")
assert b.recv(4) == b"ping"
with prise.create_server(("127.0.0.1", 0)) as server:
    with prise.create_connection(server.getsockname(), timeout=10) as client:
        conn, _ = server.accept()
        client.sendall(b"over tcp")
        assert conn.recv(8) == b"over tcp"
        conn.close()
a.close(); b.close()
print(prise.LIBRARY)
"""


def clean_environment():
    """No way to find the repository's library; pip offline when the wheels are here."""
    env = dict(os.environ)
    for name in ("PRISE_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH"):
        env.pop(name, None)
    if os.path.isdir(WHEELS):
        env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=WHEELS)
    return env


def run(command, cwd, env=None, timeout=600):
    done = subprocess.run(command, cwd=str(cwd), env=env or clean_environment(),
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, "%s\n%s\n%s" % (command, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment into which `pip install ./python` was run."""
    home = tmp_path_factory.mktemp("install")
    venv.create(home / "venv", with_pip=True, system_site_packages=False)
    python = str(home / "venv" / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", SOURCE], home)
    return home, python


def test_pip_install_then_import_from_anywhere(installed):
    home, python = installed
    library = run([python, "-c", CHECK], home).strip()
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], home)
    assert library.startswith(os.path.join(site.strip(), "prise", "libprise")), library
    assert not library.startswith(REPO)


def test_prise_library_still_overrides(installed):
    home, python = installed
    own = os.path.join(REPO, "target", "release", "libprise.so")
    env = dict(clean_environment(), PRISE_LIBRARY=own)
    assert run([python, "-c", CHECK], home, env).strip() == own
    env["PRISE_LIBRARY"] = str(home / "nothing-here.so")
    failed = subprocess.run([python, "-c", "import prise"], cwd=str(home), env=env,
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "nothing-here.so (missing)" in failed.stderr


def test_sdist_builds_a_self_contained_wheel_away_from_the_repository(tmp_path):
    """The sdist carries `cargo package`'s copy of the crate (a manifest standing alone);
    the wheel built from it alone carries the library and works in a fresh environment."""
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--sdist", "-o", str(dist), SOURCE], tmp_path)
    (sdist,) = glob.glob(str(dist / "prise-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        root = names[0].split("/")[0]
        manifest = archive.extractfile(root + "/crate/Cargo.toml").read().decode()
    for needed in ("setup.py", "pyproject.toml", "prise/_sockets.py", "crate/Cargo.lock",
                   "crate/build.rs", "crate/src/lib.rs", "crate/cbindgen.toml"):
        assert root + "/" + needed in names, needed
    assert "[workspace]" not in manifest

    # pip unpacks the sdist in a directory of its own and builds there; cargo's cache of
    # compiled dependencies is kept in build/ between runs (the crate itself is rebuilt).
    env = dict(clean_environment(), CARGO_TARGET_DIR=os.path.join(REPO, "build", "sdist-target"))
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), sdist],
        tmp_path, env, timeout=1200)
    (wheel,) = glob.glob(str(dist / "prise-*.whl"))
    assert "-abi3-" in os.path.basename(wheel)  # one wheel for every Python 3.8+
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("prise/libprise") and n.endswith(".so") for n in names), names

    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", wheel], tmp_path)
    library = run([python, "-c", CHECK], tmp_path).strip()
    assert library.startswith(str(tmp_path / "venv")), library
