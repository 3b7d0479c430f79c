"""Reading the history back: jobs, their images and their ancestry, plus user and guild settings.

Plain synchronous reads and small writes that are not part of a job's life (those belong to the
queue); `JobService` runs them off the event loop.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from jobs.models import GuildConfig, Image, Job, UserSettings
from jobs.results import ImageRecord
from jobs.states import ContentPolicy, JobStatus
from jobs.views import GuildConfigView, JobView, SettingsChange, UserSettingsView

# Guards parent_chain against a cycle written by hand into the database.
MAX_CHAIN_LENGTH = 100


class History:
    def __init__(self, sessions: sessionmaker[Session], data_dir: Path) -> None:
        self._sessions = sessions
        self._data_dir = data_dir

    def _jobs(self):
        return select(Job).options(selectinload(Job.images), selectinload(Job.parent))

    def get_job(self, public_id: str) -> JobView | None:
        with self._sessions.begin() as session:
            job = session.scalar(self._jobs().where(Job.public_id == public_id))
            return job.view(self._data_dir) if job else None

    def job_with_message(self, message_id: int) -> JobView | None:
        with self._sessions.begin() as session:
            job = session.scalar(self._jobs().where(Job.message_id == message_id))
            return job.view(self._data_dir) if job else None

    def recent_jobs(self, user_id: int, limit: int = 10) -> list[JobView]:
        with self._sessions.begin() as session:
            jobs = session.scalars(self._jobs().where(Job.user_id == user_id).order_by(Job.id.desc()).limit(limit))
            return [job.view(self._data_dir) for job in jobs]

    def undelivered_jobs(self) -> list[JobView]:
        """Jobs made for a channel whose final message is not on Discord yet, oldest first: queued, running,
        and ended ones whose last edit was never made (the bot died, or Discord kept failing)."""
        with self._sessions.begin() as session:
            jobs = session.scalars(
                self._jobs().where(Job.delivered_at.is_(None), Job.channel_id.is_not(None)).order_by(Job.id)
            )
            return [job.view(self._data_dir) for job in jobs]

    def running_count(self) -> int:
        with self._sessions.begin() as session:
            return session.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING))

    def image(self, public_id: str, index: int) -> ImageRecord | None:
        with self._sessions.begin() as session:
            image = session.scalar(select(Image).join(Job).where(Job.public_id == public_id, Image.index == index))
            return image.record().located_in(self._data_dir) if image else None

    def parent_chain(self, public_id: str) -> list[JobView]:
        """The job and its ancestors, the job first and the original /imagine last."""
        chain: list[JobView] = []
        with self._sessions.begin() as session:
            job = session.scalar(self._jobs().where(Job.public_id == public_id))
            while job is not None and len(chain) < MAX_CHAIN_LENGTH:
                chain.append(job.view(self._data_dir))
                job = job.parent
        return chain

    def attach_message(self, public_id: str, channel_id: int, message_id: int) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(Job).where(Job.public_id == public_id).values(channel_id=channel_id, message_id=message_id)
            )
            return bool(result.rowcount)

    def user_settings(self, user_id: int) -> UserSettingsView:
        with self._sessions.begin() as session:
            return (session.get(UserSettings, user_id) or UserSettings.for_new_user(user_id)).view()

    def set_user_settings(self, user_id: int, change: SettingsChange) -> UserSettingsView:
        """Change only what is given; the first call creates the row."""
        with self._sessions.begin() as session:
            row = session.get(UserSettings, user_id) or UserSettings.for_new_user(user_id)
            if change.defaults is not None:
                row.defaults = dict(change.defaults)
            for name in ("others_may_use_buttons", "remix", "variation_mode", "private_results"):
                if (value := getattr(change, name)) is not None:
                    setattr(row, name, value)
            session.add(row)
            return row.view()

    def guild_config(self, guild_id: int) -> GuildConfigView:
        with self._sessions.begin() as session:
            row = session.get(GuildConfig, guild_id)
            return row.view() if row else GuildConfigView(guild_id=guild_id)

    def set_guild_config(
        self,
        guild_id: int,
        *,
        allowed_channel_ids: list[int] | None = None,
        banned_words: list[str] | None = None,
        admin_role_id: int | None = None,
        clear_admin_role: bool = False,
        content_policy: ContentPolicy | None = None,
    ) -> GuildConfigView:
        """Change only what is given; `clear_admin_role` removes the admin role."""
        with self._sessions.begin() as session:
            row = session.get(GuildConfig, guild_id) or GuildConfig(
                guild_id=guild_id, allowed_channel_ids=[], banned_words=[], content_policy=ContentPolicy.BLOCK
            )
            if content_policy is not None:
                row.content_policy = content_policy
            if allowed_channel_ids is not None:
                row.allowed_channel_ids = [int(channel) for channel in allowed_channel_ids]
            if banned_words is not None:
                row.banned_words = [str(word) for word in banned_words]
            if admin_role_id is not None:
                row.admin_role_id = admin_role_id
            if clear_admin_role:
                row.admin_role_id = None
            session.add(row)
            return row.view()
