"""Headless operation: `python -m jobs migrate | run | submit "prompt --flags"`.

`run` processes the queue until SIGTERM or SIGINT, then stops gracefully; `submit` only writes the
job to the database (a running `python -m jobs run` or bot picks it up) and prints its public id.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from jobs.database import upgrade_to_head
from jobs.logs import LogSettings, log_json_lines
from jobs.models import JobKind
from jobs.queue import QueueFull
from jobs.service import JobService
from jobs.settings import JobSettings

# The user id recorded for jobs submitted from the command line.
OPERATOR_USER_ID = 0


async def run_until_signalled(service: JobService) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    logging.getLogger(__name__).info("processing the queue; send SIGTERM or press Ctrl-C to stop")
    await stop.wait()
    await service.stop()


async def submit(text: str, user_id: int) -> str:
    from engine.flags import parse_prompt

    service = JobService(process_jobs=False)
    await service.start()
    try:
        request = parse_prompt(text)
        job = await service.submit(request, kind=JobKind.IMAGINE, user_id=user_id, raw_prompt=text)
    finally:
        await service.stop()
    return job.public_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database schema to the latest version")
    commands.add_parser("run", help="process the queue until SIGTERM/SIGINT")
    submit_parser = commands.add_parser("submit", help="queue a prompt and print the job's public id")
    submit_parser.add_argument("prompt", help='prompt text with flags, e.g. "a red fox --ar 16:9 --steps 20"')
    submit_parser.add_argument("--user-id", type=int, default=OPERATOR_USER_ID)
    args = parser.parse_args(argv)
    if LogSettings().log_format == "json":
        log_json_lines(logging.INFO)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "migrate":
        upgrade_to_head(JobSettings().sqlalchemy_url)
    elif args.command == "run":
        asyncio.run(run_until_signalled(JobService()))
    else:
        try:
            print(asyncio.run(submit(args.prompt, args.user_id)))
        except (QueueFull, ValueError) as error:
            print(error, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
