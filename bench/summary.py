"""The headline figures of a result document as a short table, printed at the end of every run."""

from __future__ import annotations

from typing import Any


def headline_rows(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) for whatever the run measured; parts it skipped are left out."""
    rows = []
    comparisons = document.get("comparisons")
    if comparisons:
        runs = document["runs"]
        overhead_ms = comparisons["queue_overhead_per_job_s"] * 1000
        rows += [
            ("engine (queue, batched) vs naive, images/s", f"{comparisons['engine_vs_naive_images_per_s']:.2f}x"),
            (
                "engine vs naive, p50 latency to grid",
                f"{comparisons['engine_vs_naive_p50_latency']:.2f}x lower "
                f"({runs['queue_batched']['latency_to_grid_s']['p50']:.2f} s vs "
                f"{runs['naive']['latency_to_grid_s']['p50']:.2f} s)",
            ),
            (
                "queue + DB overhead over bare engine",
                f"{comparisons['queue_overhead_wall']:.2f}x ({overhead_ms:+.0f} ms/job)",
            ),
            ("batching through the queue, images/s", f"{comparisons['batching_through_queue_images_per_s']:.2f}x"),
            ("served job vs physical floor", f"{comparisons['served_job_s_vs_floor']:.1f}x"),
        ]
    ack = document.get("discord_ack")
    if ack and ack.get("measured"):
        latency = ack["ack_latency_s"]
        rows.append(
            (
                f"/imagine acknowledgement, {ack['users']} users at once",
                f"p50 {latency['p50'] * 1000:.0f} ms, p99 {latency['p99'] * 1000:.0f} ms, "
                f"{ack['acks_over_3s_deadline']} over 3 s",
            )
        )
    for name, lever in (document.get("levers") or {}).items():
        if name == "baseline":
            continue
        if "skipped" in lever:
            value = f"skipped: {lever['skipped']}"
        else:
            value = lever.get("error") or f"{lever['speedup_vs_baseline']:.2f}x"
        rows.append((f"lever {name}", value))
    return rows


def headline_table(document: dict[str, Any]) -> str:
    rows = headline_rows(document)
    if not rows:
        return "(no figures: the run measured none of runs, ack, levers)"
    width = max(len(figure) for figure, _ in rows)
    lines = [f"{'figure'.ljust(width)}  value", f"{'-' * width}  {'-' * 5}"]
    lines += [f"{figure.ljust(width)}  {value}" for figure, value in rows]
    return "\n".join(lines)
