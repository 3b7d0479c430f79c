"""The Ray spike of issue 19: what Ray Core does on a local cluster, measured before the design relies on it.

`python -m bench.ray_spike [--out FILE]` starts a `ray.cluster_utils.Cluster` on this machine — a head and
two worker nodes, every process bound to 127.0.0.1, token authentication on — and measures:

1. the order of messages an actor streams back (a streaming generator) while cancels arrive on a second
   concurrency group, and how long a cancel takes to be seen by the running generator;
2. how long the owner of a stream takes to hear that its actor is gone: the actor's process killed
   (SIGKILL), a whole node killed (SIGKILL of its raylet, agents and workers), a node stopped (SIGSTOP)
   and what happens when it is resumed (SIGCONT) after being declared dead — with Ray's default health
   checks and with the shorter ones the bot uses;
3. that actors die with the driver that owns them (the driver SIGKILLed);
4. the throughput of 15 MB results from an actor on a worker node to the driver on the head;
5. the memory and the idle CPU of the head plus two nodes holding idle engine actors (the real engine,
   embedded tiny model);
6. that a driver without the cluster's token is refused, and which addresses the processes listen on.

The figures (and the settings chosen from them) are written up in docs/queue.md. The machine is shared:
other processes may run meanwhile, so timings carry their noise; the JSON keeps every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

# Before Ray is imported: treat 127.0.0.1 as this machine's address instead of swapping in the outward one.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
TOKEN = "spike-" + "0123456789abcdef" * 2
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = TOKEN
# The engine actors import this checkout's packages; the nodes' processes inherit this environment.
CHECKOUT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [CHECKOUT, os.environ.get("PYTHONPATH")]))

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy  # noqa: E402

RESOURCE = "spike_gpu"
FAST_HEALTH_CHECKS = {
    "health_check_period_ms": 1000,
    "health_check_timeout_ms": 1000,
    "health_check_failure_threshold": 3,
}
MB = 1024 * 1024


# the processes of a node, from /proc


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(pid: int) -> set[int]:
    children, found, frontier = _children(), set(), {pid}
    while frontier:
        found |= frontier
        frontier = {child for parent in frontier for child in children.get(parent, ())} - found
    return found


def node_pids(node) -> set[int]:
    """Every process of a node: its raylet and what the raylet started (workers, agents), and its other services."""
    pids: set[int] = set()
    for infos in node.all_processes.values():
        for info in infos:
            pids |= _tree(info.process.pid)
    return pids


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def process_name(pid: int) -> str:
    try:
        name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode().rsplit("/", 1)[-1]
        return Path(f"/proc/{pid}/comm").read_text().strip() if "python" in name or not name else name
    except OSError:
        return "?"


def rss_mb(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pids) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / ticks


def listening_addresses(pids) -> list[str]:
    """The local addresses the given processes listen on (TCP), from `ss`."""
    out = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            found.append(line.split()[3])
    return sorted(found)


# the actors


@ray.remote(num_cpus=0, concurrency_groups={"control": 1})
class Streamer:
    def __init__(self, die_with_raylet: bool = False) -> None:
        self.cancelled: dict[int, float] = {}
        if die_with_raylet:  # what the engine actor does: the raylet is its parent
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    @ray.method(concurrency_group="control")  # asked while `forever` holds the default group's one thread
    def parent(self) -> int:
        return os.getppid()

    def pid(self) -> int:
        return os.getpid()

    def stream(self, count: int, interval: float):
        """Numbered messages; each says which cancels the generator had seen when it was made."""
        for number in range(count):
            yield number, time.monotonic(), dict(self.cancelled)
            time.sleep(interval)

    def forever(self, interval: float):
        number = 0
        while True:
            yield number
            number += 1
            time.sleep(interval)

    def blobs(self, count: int, size: int):
        payload = os.urandom(size)
        for number in range(count):
            yield number, payload

    @ray.method(concurrency_group="control")
    def cancel(self, key: int) -> None:
        self.cancelled[key] = time.monotonic()


def pinned(node_id: str):
    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


def start_cluster(system_config: dict | None = None, *, object_store_mb: int = 150) -> tuple[Cluster, list]:
    head_args = {"node_ip_address": "127.0.0.1", "num_cpus": 0, "include_dashboard": False}
    if system_config:
        head_args["_system_config"] = dict(system_config)  # Ray adds its own keys to the dict it is given
    cluster = Cluster(initialize_head=True, head_node_args=head_args)
    workers = [
        cluster.add_node(
            node_ip_address="127.0.0.1", num_cpus=1, resources={RESOURCE: 1}, object_store_memory=object_store_mb * MB
        )
        for _ in range(2)
    ]
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    return cluster, workers


def stop_cluster(cluster: Cluster) -> None:
    ray.shutdown()
    cluster.shutdown()


# 1. order with concurrent cancels


def measure_order(worker_node) -> dict:
    actor = Streamer.options(scheduling_strategy=pinned(worker_node.node_id)).remote()
    ray.get(actor.pid.remote())
    count, cancels = 600, 120
    generator = actor.stream.options(num_returns="streaming").remote(count, 0.002)
    sent: dict[int, float] = {}

    def cancel_some() -> None:
        for key in range(cancels):
            sent[key] = time.monotonic()
            actor.cancel.remote(key)
            time.sleep(0.008)

    sender = threading.Thread(target=cancel_some)
    sender.start()
    numbers, seen_at = [], {}
    for ref in generator:
        number, _, cancelled = ray.get(ref)
        numbers.append(number)
        for key in cancelled:
            seen_at.setdefault(key, time.monotonic())
    sender.join()
    ray.kill(actor)
    latencies = sorted((seen_at[key] - sent[key]) * 1000 for key in seen_at)
    return {
        "messages": count,
        "in_order": numbers == list(range(count)),
        "cancels_sent": cancels,
        "cancels_seen_while_streaming": len(seen_at),
        "cancel_seen_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "cancel_seen_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
    }


# 2. failure detection


def _until_stream_fails(generator, since: float, limit: float = 60.0) -> dict:
    """Read the stream until it raises; the seconds from `since` and the error's type."""
    result: dict = {}

    def read() -> None:
        try:
            for ref in generator:
                ray.get(ref)
        except Exception as error:  # the point: which error, and when
            result["error"] = type(error).__name__
            result["seconds"] = round(time.monotonic() - since, 2)
        else:
            result["error"] = "stream ended"

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(limit)
    if reader.is_alive():
        result["error"] = f"nothing after {limit:.0f} s"
    return result


def _node_dead_after(node_id: str, since: float, limit: float = 60.0) -> float | None:
    while time.monotonic() - since < limit:
        if not any(node["NodeID"] == node_id and node["Alive"] for node in ray.nodes()):
            return round(time.monotonic() - since, 2)
        time.sleep(0.05)
    return None


def _streaming_actor_on(node, die_with_raylet: bool = False):
    actor = Streamer.options(scheduling_strategy=pinned(node.node_id), resources={RESOURCE: 1}).remote(die_with_raylet)
    pid = ray.get(actor.pid.remote())
    generator = actor.forever.options(num_returns="streaming").remote(0.05)
    ray.get(next(generator))
    return actor, pid, generator


def measure_actor_kill(node) -> dict:
    actor, pid, generator = _streaming_actor_on(node)
    since = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    return _until_stream_fails(generator, since)


def measure_node_kill(cluster: Cluster, node) -> dict:
    actor, pid, generator = _streaming_actor_on(node)
    pids = node_pids(node)
    since = time.monotonic()
    for victim in pids:
        os.kill(victim, signal.SIGKILL)
    stream = _until_stream_fails(generator, since)
    stream["node_declared_dead_s"] = _node_dead_after(node.node_id, since)
    cluster.worker_nodes.discard(node)
    return stream


def measure_node_pause(cluster: Cluster, node, die_with_raylet: bool) -> dict:
    """SIGSTOP every process of the node; once the owner hears of it, SIGCONT and watch what the node does."""
    actor, pid, generator = _streaming_actor_on(node, die_with_raylet)
    raylet = node.all_processes["raylet"][0].process.pid
    parent_is_raylet = ray.get(actor.parent.remote()) == raylet
    pids = node_pids(node)
    since = time.monotonic()
    for victim in pids:
        os.kill(victim, signal.SIGSTOP)
    stream = _until_stream_fails(generator, since)
    stream["node_declared_dead_s"] = _node_dead_after(node.node_id, since)
    paused_for = time.monotonic() - since
    for victim in pids:
        os.kill(victim, signal.SIGCONT)
    resumed = time.monotonic()
    deadline = resumed + 30
    while any(alive(victim) for victim in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    stream["paused_s"] = round(paused_for, 2)
    survivors = sorted(process_name(victim) for victim in pids if alive(victim))
    stream["after_resume"] = (
        f"every process of the node exited {time.monotonic() - resumed:.1f} s after SIGCONT"
        if not survivors
        else f"still alive 30 s after SIGCONT: {', '.join(survivors)}"
    )
    stream["actor_process_alive_after_resume"] = alive(pid)
    stream["actor_parent_is_the_raylet"] = parent_is_raylet
    stream["actor_sets_pdeathsig"] = die_with_raylet
    stream["node_alive_again"] = any(n["NodeID"] == node.node_id and n["Alive"] for n in ray.nodes())
    for victim in pids:  # whatever is left
        if alive(victim):
            os.kill(victim, signal.SIGKILL)
    cluster.worker_nodes.discard(node)
    return stream


def detection(system_config: dict | None) -> dict:
    cluster, nodes = start_cluster(system_config)
    figures: dict = {}

    def note(name: str, figure: dict) -> None:  # as it comes: a later case that hangs must not hide it
        figures[name] = figure
        print(f"  {name}: {figure}", flush=True)

    try:
        note("actor_killed", measure_actor_kill(nodes[0]))
        note("node_killed", measure_node_kill(cluster, nodes[0]))
        note("node_paused_then_resumed", measure_node_pause(cluster, nodes[1], die_with_raylet=False))
        third = cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1, resources={RESOURCE: 1})
        note(
            "node_paused_then_resumed_actor_dies_with_raylet", measure_node_pause(cluster, third, die_with_raylet=True)
        )
        return figures
    finally:
        stop_cluster(cluster)


# 3. actors die with their owner

OWNER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import ray
    ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)

    @ray.remote(num_cpus=0, resources={"RESOURCE": 1})
    class Held:
        def pid(self):
            return os.getpid()

    held = Held.remote()
    print(ray.get(held.pid.remote()), held._actor_id.hex(), flush=True)
    time.sleep(3600)
    """
).replace("RESOURCE", RESOURCE)


def measure_owner_death(cluster: Cluster) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(OWNER_SCRIPT)
    owner = subprocess.Popen([sys.executable, script.name, cluster.address], stdout=subprocess.PIPE, text=True)
    pid_text, actor_id = owner.stdout.readline().split()
    actor_pid = int(pid_text)
    since = time.monotonic()
    owner.kill()
    owner.wait()
    process_gone = state_dead = None
    while time.monotonic() - since < 60 and (process_gone is None or state_dead is None):
        if process_gone is None and not alive(actor_pid):
            process_gone = round(time.monotonic() - since, 2)
        if state_dead is None and ray._private.state.actors(actor_id=actor_id).get("State") == "DEAD":
            state_dead = round(time.monotonic() - since, 2)
        time.sleep(0.05)
    os.unlink(script.name)
    return {"actor_process_gone_s": process_gone, "actor_state_dead_s": state_dead}


# 4. throughput of 15 MB results


def measure_throughput(worker_node, count: int = 20, size: int = 15 * MB) -> dict:
    actor = Streamer.options(scheduling_strategy=pinned(worker_node.node_id)).remote()
    ray.get(actor.pid.remote())
    start = time.perf_counter()
    received = 0
    for ref in actor.blobs.options(num_returns="streaming").remote(count, size):
        _, payload = ray.get(ref)
        received += len(payload)
        del payload, ref
    seconds = time.perf_counter() - start
    ray.kill(actor)
    mb_per_s = round(received / MB / seconds)
    return {"results": count, "result_mb": size / MB, "seconds": round(seconds, 2), "mb_per_s": mb_per_s}


# 5. memory and idle CPU with idle engine actors


@ray.remote(num_cpus=0)
class IdleEngine:
    def __init__(self) -> None:
        import torch

        torch.set_num_threads(1)
        from engine.engine import Engine

        self.engine = Engine(device="cpu")
        self.engine.warm_up(batch_sizes=(4,))

    def pid(self) -> int:
        return os.getpid()


def measure_footprint(cluster: Cluster, nodes: list, idle_seconds: float = 30.0) -> dict:
    engines = [
        IdleEngine.options(scheduling_strategy=pinned(node.node_id), resources={RESOURCE: 1}).remote() for node in nodes
    ]
    ray.get([engine.pid.remote() for engine in engines])
    time.sleep(5)  # let start-up settle
    cluster_pids = set().union(*(node_pids(node) for node in cluster.list_all_nodes()))
    driver = {os.getpid()}
    before, driver_before = cpu_seconds(cluster_pids), cpu_seconds(driver)
    time.sleep(idle_seconds)
    used, driver_used = cpu_seconds(cluster_pids) - before, cpu_seconds(driver) - driver_before
    by_kind: dict[str, float] = {}
    for pid in cluster_pids:
        name = process_name(pid)
        by_kind[name] = by_kind.get(name, 0) + rss_mb({pid})
    figures = {
        "processes": len(cluster_pids),
        "rss_mb_total": round(rss_mb(cluster_pids)),
        "rss_mb_by_process_name": {name: round(mb) for name, mb in sorted(by_kind.items())},
        "driver_rss_mb": round(rss_mb(driver)),
        "idle_cpu_percent_of_one_core": round(100 * used / idle_seconds, 1),
        "driver_idle_cpu_percent_of_one_core": round(100 * driver_used / idle_seconds, 1),
        "listening": listening_addresses(cluster_pids),
    }
    for engine in engines:
        ray.kill(engine)
    return figures


# 6. a driver without the token


def measure_wrong_token(cluster: Cluster) -> dict:
    env = {**os.environ, "RAY_AUTH_TOKEN": "not-the-token-" + "x" * 20}
    code = f"import ray; ray.init(address={cluster.address!r}, logging_level='ERROR'); print('connected')"
    start = time.monotonic()
    try:
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"refused": True, "how": "no connection within 120 s"}
    last = (run.stderr.strip().splitlines() or [""])[-1]
    return {
        "refused": "connected" not in run.stdout,
        "seconds": round(time.monotonic() - start, 1),
        "exit_code": run.returncode,
        "last_line": last[:300],
    }


def measure_steady_state(cluster: Cluster, nodes: list, report: dict, idle_seconds: float) -> None:
    try:
        report["footprint"] = measure_footprint(cluster, nodes, idle_seconds)
        print("footprint:", report["footprint"], flush=True)
        report["order_with_cancels"] = measure_order(nodes[0])
        print("order:", report["order_with_cancels"], flush=True)
        report["throughput_15mb"] = measure_throughput(nodes[0])
        print("throughput:", report["throughput_15mb"], flush=True)
        report["owner_death"] = measure_owner_death(cluster)
        print("owner death:", report["owner_death"], flush=True)
        report["wrong_token"] = measure_wrong_token(cluster)
        print("wrong token:", report["wrong_token"], flush=True)
    finally:
        stop_cluster(cluster)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_spike", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/ray-spike.json"))
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--detection-only", action="store_true", help="only the failure detection cases")
    parser.add_argument(
        "--default-health-checks",
        action="store_true",
        help="also measure detection with Ray's default health checks (minutes: each wait is up to a minute)",
    )
    args = parser.parse_args(argv)
    report: dict = {"ray": ray.__version__, "cpus": os.cpu_count()}

    if not args.detection_only:
        cluster, nodes = start_cluster(FAST_HEALTH_CHECKS, object_store_mb=400)
        measure_steady_state(cluster, nodes, report, args.idle_seconds)

    if args.default_health_checks:
        report["detection_default_health_checks"] = detection(None)
        print("detection (defaults):", report["detection_default_health_checks"], flush=True)
    report["detection_fast_health_checks"] = {"system_config": FAST_HEALTH_CHECKS, **detection(FAST_HEALTH_CHECKS)}
    print("detection (fast):", report["detection_fast_health_checks"], flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
