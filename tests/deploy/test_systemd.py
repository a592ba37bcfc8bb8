"""deploy/systemd: the unit templates start what the docs say, and systemd accepts them."""

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def test_the_web_unit_runs_daphne_on_its_instance_port_behind_the_proxy():
    service = unit("makima-web@.service")["Service"]
    command = service["ExecStart"].split()
    assert command[0].endswith("/.venv/bin/daphne")
    assert command[command.index("-b") + 1] == "127.0.0.1"
    assert command[command.index("-p") + 1] == "%i"
    assert "--proxy-headers" in command
    assert command[-1] == "makima_site.asgi:application"
    assert service["EnvironmentFile"] == "/etc/makima/makima.env"
    assert service["Restart"] == "always"


def test_the_worker_unit_runs_db_worker_with_the_same_environment():
    service = unit("makima-worker@.service")["Service"]
    assert service["ExecStart"].split()[-2:] == ["manage.py", "db_worker"]
    assert service["EnvironmentFile"] == "/etc/makima/makima.env"
    assert service["WorkingDirectory"] == unit("makima-web@.service")["Service"]["WorkingDirectory"]


def test_every_variable_of_the_environment_example_is_a_setting():
    sources = "".join(
        (ROOT / "makima_site" / name).read_text() for name in ("settings.py", "settings_data.py")
    )
    example = (ROOT / "deploy" / "makima.env.example").read_text()
    names = re.findall(r"^([A-Z_]+)=", example, re.MULTILINE)
    assert "DATABASE_URL" in names and "THROTTLE_NUM_PROXIES" in names
    for name in names:
        assert f'"{name}"' in sources, name


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    """systemd-analyze verify on instances of the templates, with this checkout as /srv/makima
    (so the commands exist); it prints nothing for valid units."""
    for name in ("makima-web@.service", "makima-worker@.service", "makima.target"):
        text = (UNITS / name).read_text().replace("/srv/makima", str(ROOT))
        instance = {"makima-web@.service": "makima-web@8001.service"}.get(name, name)
        instance = instance.replace("worker@.", "worker@1.")
        (tmp_path / instance).write_text(text)
    paths = sorted(str(path) for path in tmp_path.glob("*.service"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
