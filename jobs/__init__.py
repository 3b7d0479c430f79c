"""The durable job queue and the prompt/seed history.

`JobService` (jobs.service) is the facade the bot uses. Importing this package never imports
torch: the engine's model code is loaded inside the worker threads only.
"""

from jobs.events import Accepted, Cancelled, Failed, Finished, JobEvent, PositionChanged, ProgressEvent, Started
from jobs.models import JobKind, JobStatus
from jobs.queue import QueueFull, UnknownParent
from jobs.service import JobService, UnknownJob
from jobs.settings import JobSettings
from jobs.views import GuildConfigView, ImageView, JobView, QueueStats, UserSettingsView

__all__ = [
    "Accepted",
    "Cancelled",
    "Failed",
    "Finished",
    "GuildConfigView",
    "ImageView",
    "JobEvent",
    "JobKind",
    "JobService",
    "JobSettings",
    "JobStatus",
    "JobView",
    "PositionChanged",
    "ProgressEvent",
    "QueueFull",
    "QueueStats",
    "Started",
    "UnknownJob",
    "UnknownParent",
    "UserSettingsView",
]
