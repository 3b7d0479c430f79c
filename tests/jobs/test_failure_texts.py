"""What a member reads when a job fails: a short reason and a reference, never what names the machine; the log
gets the rest under the same reference."""

from __future__ import annotations

import re

import pytest
import torch

from engine.results import ContentFilterUnavailable, ModelNotFoundError, ModelUnavailable, RequestError
from jobs.generation import FILTER_FAILURE, INTERNAL_FAILURE, MODEL_FAILURE, SAVE_FAILURE, job_failed

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
