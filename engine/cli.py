"""The `imagine` command: generate, reproduce or transform images without Discord.

    imagine "a lighthouse at dusk --ar 3:2 --seed 7" --out DIR
    imagine --reproduce DIR/3.png --out AGAIN
    imagine --op pan --direction left --image DIR/2.png --out PANNED
    imagine --op zoom --zoom 1.5 --canvas 1:1 --image DIR/2.png --out SQUARE
    imagine --op region --region 0,4 --image DIR/2.png "a blue star" --out REPAINTED

Exit codes: 0 done, 2 bad input, 3 model not found, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from engine.budgets import largest_image, limit_decoded_pixels
from engine.flags import parse_aspect
from engine.quiet import quiet_libraries
from engine.request import MAX_ZOOM, MIN_ZOOM, Direction, GenerationRequest, Operation
from engine.settings import EngineSettings
from engine.version import installed_version

EXIT_BAD_INPUT = 2
EXIT_MODEL_NOT_FOUND = 3
EXIT_INTERRUPTED = 130
VARIATION_COUNT = 4
IMAGE_OPERATIONS = [op.value for op in Operation if op not in (Operation.IMAGINE, Operation.DESCRIBE)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagine", description="Generate images with the engine (no Discord).")
    parser.add_argument("prompt", nargs="?", help='prompt with flags, e.g. "a lighthouse --ar 3:2 --seed 7"')
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    parser.add_argument("--reproduce", type=Path, metavar="PNG", help="regenerate an image from its embedded record")
    parser.add_argument("--op", choices=IMAGE_OPERATIONS, help="operation on --image")
    parser.add_argument(
        "--image", type=Path, help="source image for --op, or for --reproduce of an image made from one"
    )
    parser.add_argument("--mode", help="variation: strong|subtle; upscale: subtle|creative")
    parser.add_argument("--direction", choices=[d.value for d in Direction], help="pan direction")
    parser.add_argument("--zoom", type=float, help=f"zoom: how far out, {MIN_ZOOM:g} to {MAX_ZOOM:g} (default 2)")
    parser.add_argument(
        "--canvas", type=parse_aspect, metavar="W:H", help="zoom: the new canvas shape (1:1: Make Square)"
    )
    parser.add_argument("--region", type=_cells, metavar="CELLS", help="region: cells to repaint, 0-8, like 0,4")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = EngineSettings()
    except ValidationError as error:
        print(f"imagine: error: the configuration is invalid: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    limit_decoded_pixels(settings.max_pixels, settings.upscale_budget)
    try:
        request = _request(args, parser)
        return _generate(request, args.out)
    except KeyboardInterrupt:
        print("imagine: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _request(args: argparse.Namespace, parser: argparse.ArgumentParser) -> GenerationRequest:
    from engine.flags import parse_prompt
    from engine.outputs import read_record

    if args.reproduce and args.op:
        parser.error("--reproduce and --op cannot be combined")
    settings = EngineSettings()
    largest = largest_image(settings.max_pixels, settings.upscale_budget)
    try:
        if args.reproduce:
            return _replay(read_record(args.reproduce, largest)[0], args.image, parser)
        if args.op:
            if args.image is None:
                parser.error(f"--op {args.op} needs --image FILE")
            base = parse_prompt(args.prompt) if args.prompt else _prompt_of(args.image, largest)
            return GenerationRequest.model_validate(
                base.model_dump(exclude={"width", "height", "warnings"})
                | {
                    "operation": args.op,
                    "source_image": str(args.image),
                    "mode": args.mode,
                    "direction": args.direction,
                    "zoom": args.zoom,
                    "canvas_aspect": args.canvas,
                    "region": args.region or (),
                    "count": VARIATION_COUNT if args.op in (Operation.VARIATION, Operation.REGION) else 1,
                }
            )
        if not args.prompt:
            parser.error("give a prompt, --reproduce PNG, or --op OPERATION --image FILE")
        return parse_prompt(args.prompt)
    except ValidationError as error:
        parser.error("; ".join(detail["msg"].removeprefix("Value error, ") for detail in error.errors()))
    except ValueError as error:
        parser.error(str(error))


def _cells(value: str) -> tuple[int, ...]:
    try:
        return tuple(sorted({int(cell) for cell in value.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected cells 0-8 separated by commas, like 0,4 (got {value!r})") from None


def _replay(request: GenerationRequest, image: Path | None, parser: argparse.ArgumentParser) -> GenerationRequest:
    """A record made from another image names that image by a path on the machine that made it; the source
    (or the one image prompt) is only ever the file given with --image, never a path read from the PNG."""
    if request.image_prompts:
        if len(request.image_prompts) > 1 or image is None:
            parser.error(
                "this image was made from image prompts; give the one image with --image FILE "
                "(a blend of several images can be reproduced through the bot's /reproduce only)"
            )
        return GenerationRequest.model_validate(request.model_dump() | {"image_prompts": (str(image),)})
    if request.source_image is None:
        return request
    if image is None:
        parser.error(
            f"this image was made by {request.operation} from another image; give that image with --image FILE"
        )
    return GenerationRequest.model_validate(request.model_dump() | {"source_image": str(image)})


def _prompt_of(image: Path, max_pixels: int) -> GenerationRequest:
    """An image made by this engine lends its prompt and settings to the operation; others get an empty prompt."""
    from engine.outputs import read_record

    try:
        request = read_record(image, max_pixels)[0]
    except (ValueError, KeyError):
        return GenerationRequest(prompt="")
    return GenerationRequest.model_validate(
        request.model_dump(include={"prompt", "negative_prompt", "steps", "guidance", "sampler", "model", "tile"})
    )


def _generate(request: GenerationRequest, out_dir: Path) -> int:
    quiet_libraries()
    from tqdm import tqdm

    from engine.engine import Engine
    from engine.outputs import save_result
    from engine.results import ContentFilterUnavailable, ModelUnavailable, RequestError

    engine = Engine()
    try:
        resolved = engine.resolve(request)
    except ModelUnavailable as error:  # the operator runs the CLI: show what was tried, not the member's version
        print(f"imagine: error: {error.__cause__ or error}", file=sys.stderr)
        return EXIT_MODEL_NOT_FOUND
    except RequestError as error:
        print(f"imagine: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    model = engine.registry.get(resolved.model)
    size = f"{resolved.count} image(s) of {resolved.width}×{resolved.height}, {resolved.steps} steps"
    print(f"imagine: {resolved.operation} with model {model.name} ({model.label}): {size}", file=sys.stderr)
    for warning in resolved.warnings:
        print(f"imagine: warning: {warning}", file=sys.stderr)
    with tqdm(total=resolved.steps, unit="step", desc=str(resolved.operation)) as bar:

        def advance(progress) -> None:
            bar.total = progress.total
            bar.update(progress.step - bar.n)

        try:
            result = engine.run(resolved, on_progress=advance)
        except RequestError as error:
            print(f"imagine: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except ContentFilterUnavailable as error:
            print(f"imagine: error: {error}", file=sys.stderr)
            return EXIT_MODEL_NOT_FOUND
    saved = save_result(result, out_dir)
    print(f"seed {resolved.seed}: {saved.grid}")
    for position, path in enumerate(saved.images):
        print(path)
        if result.is_flagged(position):
            print(f"imagine: warning: {path.name} was flagged as unsafe by the content filter", file=sys.stderr)
    return 0
