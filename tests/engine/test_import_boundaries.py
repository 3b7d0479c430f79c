"""engine/ never pulls in Discord, the database or the bot; its light parts never pull in torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_engine_modules_import_nothing_from_discord_jobs_or_bot():
    modules = imported_after(
        "import engine.engine, engine.outputs, engine.cli, engine.operations, engine.loading, engine.preview"
    )
    assert "torch" in modules and "diffusers" in modules
    assert not modules & {"discord", "bot", "jobs", "sqlalchemy"}


def test_request_and_flags_stay_torch_free():
    modules = imported_after(
        "import engine.request, engine.flags, engine.cli, engine.permutations, engine.prompt_weights"
    )
    assert not modules & {"torch", "diffusers", "transformers"}
