"""A plain (non-editable) install from the wheel works from any directory, as a container image, a system package
or `pipx install` gets it: the release build holds what it must, and the installed commands draw, migrate the
database and start the bot.

The build runs on a copy of the checkout, so it leaves no build/ or egg-info behind; the wheel goes into a fresh
virtual environment that borrows this environment's dependencies, so nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from PIL import Image

from jobs.database import alembic_config
from sandbox.discord.server import DiscordEmulator
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
PACKAGES = ("engine", "bot", "jobs", "bench", "sandbox")
# Never in a release: they belong to the checkout or to one machine.
FORBIDDEN_PREFIXES = ("tests/", "data/", "runs/", "build/", "dist/", ".venv/", "bench/results/")
COMMAND_TIMEOUT = 180


@dataclass(frozen=True)
class Release:
    wheel: Path
    sdist: Path


def _checkout_files() -> list[str]:
    """What a clean clone holds, plus new files not yet committed: git's list, not the working tree (no .venv,
    data/ or caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    # A file deleted but not yet staged is still listed.
    return [name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in _checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, source / name)
    # Without isolation the build uses this environment's setuptools instead of downloading one. `build` makes the
    # sdist first and the wheel from it, so the wheel also proves the sdist complete.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return Release(wheel, sdist)


@pytest.fixture(scope="module")
def venv(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Installed before the dependencies become visible, so pip sees no imagine-bot yet and never considers the
    # editable one of this environment.
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    subprocess.run([*install, "--disable-pip-version-check", str(release.wheel)], check=True, capture_output=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Plain path lines: the directories join sys.path, but their own .pth files (this environment's editable
    # install) are not run, so the checkout cannot shadow the installed copy.
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (Path(site) / "borrowed-dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    return venv


def _run(venv: Path, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    """From `cwd`, with none of the developer's settings or PYTHONPATH: only what the command is given."""
    executable = str(venv / "bin" / command[0])
    return subprocess.run(
        [executable, *command[1:]],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def _environment() -> dict[str, str]:
    inherited = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    # Offline: an installed copy that tried to download anything (a model, a tokenizer) would fail here.
    return inherited | {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _empty_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def _schema_version(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _sdist_files(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        return {member.name.partition("/")[2] for member in archive.getmembers() if member.isfile()}


def test_the_release_holds_code_default_model_migrations_licence_and_readme_and_nothing_else(release: Release) -> None:
    shipped = [name for name in _checkout_files() if name.startswith(tuple(f"{package}/" for package in PACKAGES))]
    shipped = [name for name in shipped if not name.startswith(FORBIDDEN_PREFIXES)]
    assert "jobs/migrations/env.py" in shipped and "engine/default_model/weights/model_index.json" in shipped
    wheel, sdist = _wheel_files(release.wheel), _sdist_files(release.sdist)

    assert set(shipped) - wheel == set()
    assert set(shipped) - sdist == set()
    assert f"imagine_bot-{VERSION}.dist-info/licenses/LICENSE" in wheel
    assert {"LICENSE", "README.md", "pyproject.toml"} <= sdist
    for name in wheel | sdist:
        assert not name.startswith(FORBIDDEN_PREFIXES) and "__pycache__" not in name, name


def test_the_installed_copy_is_the_one_imported(venv: Path, tmp_path: Path) -> None:
    where = "import bot, engine.default_model, jobs; print(bot.__file__, engine.default_model.DEFAULT_MODEL_FOLDER, "
    where += "jobs.__file__)"
    result = _run(venv, "python", "-c", where, cwd=_empty_directory(tmp_path))
    assert result.returncode == 0, result.stderr
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    for path in result.stdout.split():
        assert Path(path).is_relative_to(site_packages), path


def test_the_commands_print_the_version(venv: Path, tmp_path: Path) -> None:
    work = _empty_directory(tmp_path)
    for command in ("imagine", "imagine-bot"):
        result = _run(venv, command, "--version", cwd=work)
        assert (result.returncode, result.stdout.strip()) == (0, f"{command} {VERSION}"), result.stderr


def test_imagine_draws_four_images_from_an_empty_directory(venv: Path, tmp_path: Path) -> None:
    work = _empty_directory(tmp_path)
    result = _run(venv, "imagine", "a red circle on a blue background --seed 1 --steps 2", "--out", "out", cwd=work)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (work / "out").iterdir()) == ["1.png", "2.png", "3.png", "4.png", "grid.png"]
    for path in (work / "out").iterdir():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 0 and image.height > 0


def test_migrate_creates_the_database_under_data_in_the_working_directory(venv: Path, tmp_path: Path) -> None:
    work = _empty_directory(tmp_path)
    result = _run(venv, "python", "-m", "jobs", "migrate", cwd=work)
    assert result.returncode == 0, result.stderr
    assert _schema_version(work / "data" / "imagine.db") == [_head()]


async def test_the_bot_reads_env_here_and_upgrades_its_database_at_start_up(venv: Path, tmp_path: Path) -> None:
    work = _empty_directory(tmp_path)
    async with DiscordEmulator() as discord:
        settings = {
            "DISCORD_TOKEN": discord.bot_token,
            "DISCORD_API_BASE_URL": discord.api_base,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "GUILD_IDS": str(discord.guild.id),
            "DATA_DIR": "bot-data",
            "ENGINE_DEVICES": "cpu",
            "STOP_TIMEOUT": "0",
        }
        (work / ".env").write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        returncode, log = await _start_and_interrupt_the_bot(venv, work, discord, tmp_path / "bot.log")
    assert returncode == 0 and discord.command_syncs, log
    assert _schema_version(work / "bot-data" / "imagine.db") == [_head()]


async def _start_and_interrupt_the_bot(venv: Path, work: Path, discord: DiscordEmulator, log: Path) -> tuple[int, str]:
    """Runs the installed bot until it has synced its commands, then stops it as Ctrl-C does. Its settings come
    only from the .env file in `work`."""
    with log.open("w") as output:
        bot = await asyncio.create_subprocess_exec(
            str(venv / "bin" / "imagine-bot"), cwd=work, env=_environment(), stdout=output, stderr=output
        )
        try:
            # Commands are synced in setup_hook, after the job service has brought the schema to head.
            await discord.wait_for(
                lambda: discord.command_syncs or bot.returncode is not None,
                timeout=COMMAND_TIMEOUT,
                what="the bot to sync its commands",
            )
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGINT)
            try:
                returncode = await asyncio.wait_for(bot.wait(), COMMAND_TIMEOUT)
            except TimeoutError:
                bot.kill()
                raise
    return returncode, log.read_text()[-3000:]
