"""Weighted prompts for the UNet families (SD 1.x/2.x, SDXL), through compel.

`engine.prompt_weights` has already cut the prompt into `::` parts and `(words:weight)` terms; here each part
becomes a compel `FlattenedPrompt` (its terms and their weights) and several parts a `Blend`, the weighted
average of their embeddings that compel normalises by the weights' sum, which is Midjourney's `::`. We build
compel's prompt objects ourselves instead of handing it text, so nothing a member types is read as compel's own
syntax (`word+`, `.blend()`, quotes). Prompts are read to the tokenizer's window, as the pipelines read them.

Negative prompts without weights stay text and the pipeline encodes them itself (so SDXL still zeroes an empty
one); the first weighted negative in a batch turns them all into embeddings.
"""

from __future__ import annotations

import torch
from compel import Compel, ReturnedEmbeddingsType
from compel.prompt_parser import Blend, Conjunction, FlattenedPrompt
from diffusers import DiffusionPipeline, StableDiffusionXLPipeline

from engine.prompt_weights import parse_weights, plain_text, uses_weights


class PromptWeighting:
    """Embeddings of weighted prompts for one loaded UNet pipeline, read by its own tokenizers and text encoders."""

    def __init__(self, pipe: DiffusionPipeline) -> None:
        self._sdxl = isinstance(pipe, StableDiffusionXLPipeline)
        if self._sdxl:
            # SDXL reads the second-to-last hidden states of both encoders side by side, and the second's pooled output.
            kind = ReturnedEmbeddingsType.PENULTIMATE_HIDDEN_STATES_NON_NORMALIZED
            pairs = [(pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)]
        else:
            kind = ReturnedEmbeddingsType.LAST_HIDDEN_STATES_NORMALIZED
            pairs = [(pipe.tokenizer, pipe.text_encoder)]
        self._compels = [
            Compel(
                tokenizer=tokenizer,
                text_encoder=encoder,
                returned_embeddings_type=kind,
                truncate_long_prompts=True,
                dtype_for_device_getter=lambda _device, encoder=encoder: encoder.dtype,
            )
            for tokenizer, encoder in pairs
        ]

    @torch.no_grad()
    def arguments(self, prompts: list[str], negatives: list[str]) -> dict:
        """Pipeline arguments for one batch: prompt embeddings (and SDXL's pooled ones), negatives as text unless one
        of them is weighted."""
        embeds, pooled = self._encode(prompts)
        arguments = {"prompt_embeds": embeds}
        if self._sdxl:
            arguments["pooled_prompt_embeds"] = pooled
        if not any(uses_weights(negative) for negative in negatives):
            return arguments | {"negative_prompt": negatives}
        negative_embeds, negative_pooled = self._encode(negatives)
        arguments["negative_prompt_embeds"] = negative_embeds
        if self._sdxl:
            arguments["negative_pooled_prompt_embeds"] = negative_pooled
        return arguments

    def _encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        conjunctions = [_conjunction(text) for text in texts]
        per_encoder = [
            torch.cat([compel.build_conditioning_tensor_for_conjunction(c)[0] for c in conjunctions])
            for compel in self._compels
        ]
        if not self._sdxl:
            return per_encoder[0], None
        provider = self._compels[1].conditioning_provider
        # The pooled output summarises the whole text; compel cannot weight it, so it reads the words alone.
        words = [plain_text(text) for text in texts]
        pooled = provider.get_pooled_embeddings(words, device=provider.text_encoder.device)
        return torch.cat(per_encoder, dim=-1), pooled


def _conjunction(text: str) -> Conjunction:
    parts = parse_weights(text).parts
    prompts = [FlattenedPrompt([(term.text, term.weight) for term in part.terms]) for part in parts]
    if len(prompts) == 1:
        return Conjunction(prompts)
    return Conjunction([Blend(prompts, [part.weight for part in parts])])
