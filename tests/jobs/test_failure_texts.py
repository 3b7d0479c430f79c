"""What a member reads when a job fails: a short reason and a reference, never what names the machine; the log
gets the rest under the same reference."""

from __future__ import annotations

import re

import pytest
import torch

from engine.flags import ACCEPTED_FLAGS
from engine.results import ContentFilterUnavailable, ModelNotFoundError, ModelUnavailable, RequestError
from jobs.generation import (
    FILTER_FAILURE,
    INTERNAL_FAILURE,
    MODEL_FAILURE,
    OUT_OF_MEMORY,
    SAVE_FAILURE,
    job_failed,
)

SECRET = "/home/operator/models/sd15/v1-5-pruned.safetensors"


def raised(error: BaseException) -> BaseException:
    """The error with a traceback, as the engine process has it."""
    try:
        raise error
    except BaseException as caught:
        return caught


def reason_and_reference(message: str) -> tuple[str, str]:
    match = re.fullmatch(r"(.+) \(reference `([0-9a-f]{8})`\)", message, re.DOTALL)
    assert match, message
    return match[1], match[2]


@pytest.mark.parametrize(
    "error, reason",
    [
        (RuntimeError(f"CUDA error: an illegal memory access at {SECRET}"), INTERNAL_FAILURE),
        (OSError(2, "No such file or directory", SECRET), INTERNAL_FAILURE),
        (ModelNotFoundError(f"Model {SECRET!r} not found: tried it as a local path"), MODEL_FAILURE),
        (ContentFilterUnavailable(f"CONTENT_CLASSIFIER {SECRET!r} could not be loaded"), FILTER_FAILURE),
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), "The GPU ran out of memory"),
    ],
)
def test_errors_not_written_for_members_become_a_fixed_reason(error, reason) -> None:
    failed = job_failed("JOB1", raised(error))
    shown, reference = reason_and_reference(failed.message)
    assert shown.startswith(reason) and SECRET not in failed.message and "GiB" not in failed.message
    assert failed.reference == reference and not failed.expected
    assert "Traceback" in failed.details and type(error).__name__ in failed.details


def test_out_of_memory_advice_names_only_what_a_member_can_change() -> None:
    """Members set neither how many images a job makes (there is no --count) nor its pixel count (--ar keeps the
    model's area), and fewer steps need no less memory: the advice is another time or another model, and every
    flag it names is one a prompt accepts."""
    shown, _ = reason_and_reference(job_failed("JOB1", raised(torch.OutOfMemoryError("CUDA out of memory"))).message)
    assert (
        shown
        == OUT_OF_MEMORY
        == (
            "The GPU ran out of memory for this job. Run it again later, when the bot may be less busy, or choose a "
            "smaller model with --model if this server has several (/info lists them)."
        )
    )
    named = re.findall(r"--[a-z]+", shown)
    assert named == ["--model"] and set(named) <= set(ACCEPTED_FLAGS.split(", "))
    assert not any(word in shown for word in ("--count", "--ar", "steps", "size"))


def test_a_refused_request_is_shown_as_written_and_logged_as_a_warning() -> None:
    failed = job_failed("JOB1", raised(RequestError("--tile is not available for FLUX.1 models.")))
    assert reason_and_reference(failed.message)[0] == "--tile is not available for FLUX.1 models."
    assert failed.expected and failed.details == "RequestError: --tile is not available for FLUX.1 models."


def test_a_model_that_would_not_load_names_the_model_and_logs_its_cause_as_an_error() -> None:
    try:
        try:
            raise ModelNotFoundError(f"Model {SECRET!r} not found")
        except ModelNotFoundError as cause:
            raise ModelUnavailable(
                "The model 'sd15' could not be loaded right now, so this job was not made."
            ) from cause
    except ModelUnavailable as error:
        failed = job_failed("JOB1", error)
    assert "'sd15'" in failed.message and SECRET not in failed.message
    assert not failed.expected and SECRET in failed.details


def test_a_given_reason_replaces_the_errors_and_a_long_one_keeps_its_reference() -> None:
    failed = job_failed("JOB1", raised(PermissionError(13, "Permission denied", SECRET)), SAVE_FAILURE)
    assert reason_and_reference(failed.message)[0] == SAVE_FAILURE and SECRET in failed.details
    long = job_failed("JOB1", raised(RequestError("x" * 1000)))
    shown, _ = reason_and_reference(long.message)
    assert shown.endswith("…") and len(long.message) < 300
