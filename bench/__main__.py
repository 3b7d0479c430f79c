"""`python -m bench` (and `make bench ARGS="..."`): run a suite and write its JSON under bench/results/."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from bench.environment import machine, now_utc, versions
from bench.levers import LEVERS
from bench.models import MODEL_NAMES
from bench.suites import PARTS, SUITES, customised, run_suite
from bench.summary import headline_table
from engine.quiet import quiet_libraries

# Relative to the working directory (`make bench` runs in the checkout): an installed copy of bench must not
# write into site-packages.
RESULTS_DIR = Path("bench") / "results"


def _names(known, what: str):
    """argparse type for a comma list of names from `known`; an unknown one is named with the known ones."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
        return names

    return parse


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--suite",
        choices=SUITES,
        default="cpu",
        help="cpu (default): tiny model, ratios; gpu: SD 1.5 (or --model) with every lever; smoke: seconds",
    )
    parser.add_argument(
        "--model",
        choices=MODEL_NAMES,
        help="default: the suite's (the embedded model; sd15 for gpu); *-tiny: CPU-sized blocks of a family",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--users", type=_positive, help="simulated users in the burst")
    parser.add_argument("--jobs-per-user", type=_positive, help="4-image imagine jobs each user submits")
    parser.add_argument("--steps", type=_positive, help="denoising steps per job")
    parser.add_argument("--levers", type=_names(LEVERS, "lever(s)"), help=f"comma list of: {', '.join(LEVERS)}")
    parser.add_argument("--lever-jobs", type=_positive, help="jobs each lever runs")
    parser.add_argument("--ack-users", type=_positive, help="users firing /imagine at once")
    parser.add_argument(
        "--parts",
        type=_names(PARTS, "part(s)"),
        help=f"comma list of {', '.join(PARTS)} (default: all), to split a run into shorter ones",
    )
    parser.add_argument("--repeats", type=_positive, help="runs per measurement, fastest kept")
    parser.add_argument("--threads", type=_positive, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path("data"), help="where model folders are built once (default: data/)"
    )
    parser.add_argument("--out", type=Path, help="result file (default: ./bench/results/<suite>-<device>-<time>.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    if args.threads:
        torch.set_num_threads(args.threads)
    suite = customised(
        SUITES[args.suite],
        model=args.model,
        device=args.device,
        users=args.users,
        jobs_per_user=args.jobs_per_user,
        steps=args.steps,
        levers=args.levers,
        lever_jobs=args.lever_jobs,
        ack_users=args.ack_users,
        parts=args.parts,
        repeats=args.repeats,
    )
    started = now_utc()
    result = run_suite(suite, args.cache_dir)
    document = {
        "date": started,
        "finished": now_utc(),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(torch.device(suite.device)),
        "versions": versions(),
        **result,
    }
    stamp = started.replace(":", "").replace("-", "").removesuffix("+0000")
    out = args.out or RESULTS_DIR / f"{suite.name}-{suite.device.replace(':', '')}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(headline_table(document))
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
