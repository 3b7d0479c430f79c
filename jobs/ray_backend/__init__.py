"""ENGINE_BACKEND=ray: engines as actors on the GPUs of a Ray cluster, fed by the bot's device workers.

Imported only when that backend is chosen (`jobs.service`), so a single-machine bot never imports Ray. The
SQL queue stays the scheduler and the record; Ray brings transport, placement on GPUs and failure detection.
"""

from jobs.ray_backend.cluster import RayDevice, cluster_devices, connect, ray_engines

__all__ = ["RayDevice", "cluster_devices", "connect", "ray_engines"]
