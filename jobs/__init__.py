"""The durable job queue and the prompt/seed history.

`JobService` (jobs.service) is the facade the bot uses. Importing this package never imports
torch: the engine's model code is loaded inside the engine processes only.
"""

from jobs.events import Accepted, Cancelled, Failed, Finished, JobEvent, PositionChanged, ProgressEvent, Started
from jobs.queue import QueueFull, UnknownParent
from jobs.results import ImageRecord
from jobs.service import JobService, UnknownJob
from jobs.settings import JobSettings
from jobs.states import JobKind, JobStatus
from jobs.views import GuildConfigView, JobView, QueueStats, UserSettingsView

__all__ = [
    "Accepted",
    "Cancelled",
    "Failed",
    "Finished",
    "GuildConfigView",
    "ImageRecord",
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
