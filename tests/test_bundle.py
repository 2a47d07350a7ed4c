"""The offline bundle: build.spec built the documented way (scripts/build_bundle.sh: a new
virtual environment, a normal ``pip install '.[build]'`` of a clean copy of the sources, then
PyInstaller) in a temporary folder; the executable answers ``--version``, passes
``--self-test`` offscreen, upgrades release 0.1.0's data folder, weighs under 250 MB and
carries nothing it should not.

It takes about two minutes and needs PyPI (or pip's cache) for the build environment, so it
runs when POSSUGGEST_TEST_BUNDLE=1 (.ci/run sets it) and is skipped otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from possuggest import __version__

REPO = Path(__file__).resolve().parents[1]
RELEASE = Path(__file__).parent / "fixtures" / "data-v0.1.0"
MAX_MB = 250

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("POSSUGGEST_TEST_BUNDLE") != "1",
                       reason="builds the PyInstaller bundle (about 2 minutes, needs PyPI or "
                              "pip's cache): set POSSUGGEST_TEST_BUNDLE=1"),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="scripts/build_bundle.sh is the Linux build; see README.md"),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, built once for this module's tests."""
    base = tmp_path_factory.mktemp("bundle")
    dist = base / "dist"
    env = {**os.environ, "TMPDIR": str(base), "PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", str(REPO / "scripts" / "build_bundle.sh"), str(dist)],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "bundle built in " in done.stdout
    return dist / "possuggest"


def _run(exe: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The executable as an installer runs it: headless, its own HOME, no Python around."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "POSSUGGEST_", "VIRTUAL_ENV", "DISPLAY", "WAYLAND"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_CONFIG_DIRS=str(home / "xdg"),
               XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    return subprocess.run([str(exe), *args], env=env, cwd=home, capture_output=True,
                          text=True, timeout=600)


def test_the_bundle_runs_version_and_self_test(bundle: Path, tmp_path: Path) -> None:
    exe = bundle / "possuggest"
    done = _run(exe, "--version", home=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"possuggest {__version__}")

    done = _run(exe, "--self-test", home=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert f", bundle {bundle}" in lines[0]
    assert sum(line.startswith("  ok  ") for line in lines) == 6
    assert lines[-1].startswith("self-test passed in ")
    assert "platform plugins minimal, offscreen, xcb" in done.stdout


def test_the_bundle_upgrades_the_last_releases_data_folder(bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(RELEASE, data)
    done = _run(bundle / "possuggest", "--data-dir", str(data), "rule-sets", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(pinned by rollback)" in done.stdout
    assert len(list((data / "backups").glob("possuggest-schema2-*.db"))) == 1


def test_the_bundle_is_small_and_carries_only_what_the_app_uses(bundle: Path) -> None:
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    assert size < MAX_MB * 1_000_000, f"{size / 1e6:.0f} MB"
    inside = bundle / "_internal"
    present = {p.name for p in inside.iterdir()}
    for unused in ("sklearn", "matplotlib", "tkinter", "_tkinter", "pytest", "hypothesis",
                   "schemathesis", "PIL", "IPython"):
        assert not any(name == unused or name.startswith(unused + ".") for name in present), \
            unused
    assert (inside / "possuggest" / "resources" / "demo" / "catalogue.csv").is_file()
    assert (inside / "resources" / "config.example.toml").is_file()
    qt = inside / "PySide6" / "Qt"
    libs = {p.name for p in (qt / "lib").iterdir()}
    for module in ("Quick", "Qml", "Pdf", "WebEngineCore", "Multimedia", "3DCore", "Network"):
        assert f"libQt6{module}.so.6" not in libs, module
    platforms = {p.name for p in (qt / "plugins" / "platforms").iterdir()}
    assert platforms == {"libqminimal.so", "libqoffscreen.so", "libqxcb.so"}
    assert not (qt / "translations").exists()
