"""contrib/purdah.service: the systemd unit for `purdah run --serve`. Its settings are
read back here, its command line is one purdah accepts, and `systemd-analyze verify` (and
`security --offline`) check it where systemd-analyze is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

UNIT = Path(__file__).parents[1] / "contrib" / "purdah.service"


def settings() -> dict[str, list[str]]:
    """Section.Key -> every value given (systemd allows a key more than once)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def test_the_unit_runs_the_scheduler_and_service_as_its_own_user_with_the_store_path():
    s = settings()
    (command,) = s["Service.ExecStart"]
    assert command.split()[1:3] == ["run", "--serve"]
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


def test_purdah_accepts_the_units_command_line():
    from purdah.cli import main

    (command,) = settings()["Service.ExecStart"]
    args = command.split()[1:]
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "--serve" in result.output


def _installed_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's purdah (verify checks that the
    command exists and is executable)."""
    (command,) = settings()["Service.ExecStart"]
    purdah = Path(sys.executable).parent / "purdah"
    assert purdah.exists(), purdah
    copy = tmp_path / "purdah.service"
    copy.write_text(UNIT.read_text().replace(command.split()[0], str(purdah)))
    return copy


def test_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    done = subprocess.run(
        [analyze, "verify", str(_installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_systemd_analyze_security_rates_the_unit_ok(tmp_path):
    """systemd's own exposure score (0 best, 10 worst): at most 2.0 ("OK")."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    done = subprocess.run(
        [analyze, "security", "--offline=true", "--threshold=20", str(_installed_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "Overall exposure level for purdah.service" in done.stdout
