"""contrib/: the systemd units, purdah.service (`purdah run --serve`: the scheduler and
the private routes) and purdah-feeds.service (`purdah serve --public-only`: the feeds
for the world). Their settings are read back here, their command lines are ones purdah
accepts, and `systemd-analyze verify` (and `security --offline`) check them where
systemd-analyze is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

CONTRIB = Path(__file__).parents[1] / "contrib"
UNITS = {
    "purdah.service": ["run", "--serve"],
    "purdah-feeds.service": ["serve", "--public-only"],
}
units = pytest.mark.parametrize("unit", sorted(UNITS))


def settings(unit: str) -> dict[str, list[str]]:
    """Section.Key -> every value given (systemd allows a key more than once)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in (CONTRIB / unit).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def test_contrib_holds_the_units_tested_here():
    assert sorted(p.name for p in CONTRIB.glob("*.service")) == sorted(UNITS)


@units
def test_the_unit_runs_as_its_own_user_with_the_store_path_and_hardening(unit):
    s = settings(unit)
    (command,) = s["Service.ExecStart"]
    assert command.split()[1:3] == UNITS[unit]
    assert command.split()[3:5] == ["--host", "127.0.0.1"]  # only the proxy reaches it
    assert s["Service.User"] == ["purdah"] and s["Service.Group"] == ["purdah"]
    assert s["Service.Restart"] == ["on-failure"]
    environment = dict(v.partition("=")[::2] for v in s["Service.Environment"])
    store = Path(environment["PURDAH_DB"])
    # ProtectSystem=strict makes everything read-only but the store's directory.
    assert s["Service.ProtectSystem"] == ["strict"]
    assert str(store.parent) in s["Service.ReadWritePaths"]
    assert f"/var/lib/{s['Service.StateDirectory'][0]}" == str(store.parent)
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert s[f"Service.{key}"] == ["yes"], key
    assert s["Service.CapabilityBoundingSet"] == [""]
    assert s["Install.WantedBy"] == ["multi-user.target"]


@units
def test_purdah_accepts_the_units_command_line(unit):
    from purdah.cli import main

    (command,) = settings(unit)["Service.ExecStart"]
    args = command.split()[1:]
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert UNITS[unit][1] in result.output


def _installed_copy(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's purdah (verify checks that the
    command exists and is executable)."""
    (command,) = settings(unit)["Service.ExecStart"]
    purdah = Path(sys.executable).parent / "purdah"
    assert purdah.exists(), purdah
    copy = tmp_path / unit
    copy.write_text((CONTRIB / unit).read_text().replace(command.split()[0], str(purdah)))
    return copy


def _analyze() -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return analyze


@units
def test_systemd_analyze_verify(unit, tmp_path):
    done = subprocess.run(
        [_analyze(), "verify", str(_installed_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@units
def test_systemd_analyze_security_rates_the_unit_ok(unit, tmp_path):
    """systemd's own exposure score (0 best, 10 worst): at most 2.0 ("OK")."""
    done = subprocess.run(
        [
            _analyze(),
            "security",
            "--offline=true",
            "--threshold=20",
            str(_installed_copy(unit, tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert f"Overall exposure level for {unit}" in done.stdout
