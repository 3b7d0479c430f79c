"""🔄 under a grid: the same prompt and parameters again, with new seeds, as the presser's job."""

from __future__ import annotations

from bot import derive
from bot.custom_ids import REROLL, button_extension
from bot.derived_jobs import FromJobButton
from engine.request import GenerationRequest
from jobs import JobKind


class RerollButton(FromJobButton, spec=REROLL):
    kind = JobKind.REROLL

    def derive(self, request: GenerationRequest) -> GenerationRequest:
        return derive.reroll(request)


setup, teardown = button_extension(RerollButton)
