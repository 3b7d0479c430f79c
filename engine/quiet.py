"""Silence the libraries' import and loading chatter (progress bars, "requires torchvision" notes).

Our own output — the CLI's progress bar, the bot's log — is what a person reads. Call this before
the engine imports diffusers' pipelines, which is when transformers warns.
"""

from __future__ import annotations


def quiet_libraries() -> None:
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
