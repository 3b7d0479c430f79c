"""The processing and durability tests again, with ENGINE_BACKEND=ray on a local two-node cluster: the same
scheduling, batching, cancels, out-of-memory splitting, recovery and graceful stops, whatever runs the engine.

Left out here, with their Ray versions in test_ray_backend.py / test_ray_node_loss.py: the tests that kill or
count local engine processes by pid, and the one that restarts `python -m jobs run` (its Ray version kills the
bot mid-stream and checks no actor is left)."""

from __future__ import annotations

import pytest

from jobs import JobSettings
from tests.jobs.ray_cluster import RESOURCE, LocalCluster
from tests.jobs.test_durability import (  # noqa: F401  (collected here, with this module's job_settings)
    test_graceful_stop_lets_the_running_job_finish,
    test_graceful_stop_puts_a_generation_that_overruns_back_in_the_queue,
    test_startup_requeues_interrupted_jobs_and_fails_those_out_of_attempts,
)
from tests.jobs.test_processing import (  # noqa: F401
    test_an_exception_fails_only_its_own_job,
    test_cancelling_a_running_job_stops_it,
    test_cancelling_one_job_of_a_shared_batch_leaves_the_others_pixels_alone,
    test_compatible_jobs_share_a_batch_and_get_the_same_pixels_as_alone,
    test_out_of_memory_splits_the_batch_until_it_fits,
    test_round_robin_serves_a_second_user_before_the_first_users_second_job,
)


@pytest.fixture
def job_settings(data_dir, sqlite_url: str, ray_cluster: LocalCluster) -> JobSettings:
    """What the local tests get, with the engines on the module's cluster."""
    local = JobSettings(database_url=sqlite_url, data_dir=data_dir, engine_devices=("cpu",), stop_timeout=60)
    return local.model_copy(update={"engine_backend": "ray", "engine_resource": RESOURCE})
