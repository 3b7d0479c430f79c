"""JSON shapes Discord sends, built from the emulator's state.

Only the fields discord.py 2.7 reads (or that a bot might reasonably read) are filled in;
ids are strings, as on the wire.
"""

from __future__ import annotations

from typing import Any

from .state import ALL_PERMISSIONS, Attachment, Channel, Guild, Interaction, Message, Role, User


def user_payload(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "global_name": user.username,
        "discriminator": "0",
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
        "flags": 0,
    }


def member_payload(user: User, guild: Guild) -> dict[str, Any]:
    return {
        "user": user_payload(user),
        "roles": [str(role_id) for role_id in guild.member_roles.get(user.id, [])],
        "joined_at": "2025-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "pending": False,
        "permissions": str(guild.permissions_of(user.id)),
    }


def role_payload(role: Role, position: int) -> dict[str, Any]:
    return {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def channel_payload(channel: Channel, position: int = 0) -> dict[str, Any]:
    if channel.recipient is not None:
        return {
            "id": str(channel.id),
            "type": channel.kind,
            "last_message_id": None,
            "recipients": [user_payload(channel.recipient)],
        }
    payload: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.kind,
        "name": channel.name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": channel.nsfw,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": None,
    }
    if channel.guild_id is not None:
        payload["guild_id"] = str(channel.guild_id)
    return payload


def guild_payload(guild: Guild, members: list[User]) -> dict[str, Any]:
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        "large": False,
        "member_count": len(members),
        "roles": [role_payload(role, index) for index, role in enumerate(guild.roles)],
        "channels": [channel_payload(channel, index) for index, channel in enumerate(guild.channels)],
        "members": [member_payload(user, guild) for user in members],
        "features": [],
        "emojis": [],
        "stickers": [],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "joined_at": "2025-01-01T00:00:00+00:00",
        "mfa_level": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
    }


def attachment_payload(attachment: Attachment, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/attachments/{attachment.id}/{attachment.filename}"
    return {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": url,
        "proxy_url": url,
        "content_type": attachment.content_type,
    }


def message_payload(message: Message, base_url: str, application_id: int) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "type": 20 if message.interaction_id else 0,
        "content": message.content,
        "author": user_payload(message.author),
        "attachments": [attachment_payload(a, base_url) for a in message.attachments],
        "embeds": list(message.embeds),
        "components": list(message.components),
        "flags": message.flags,
        "timestamp": message.created_at.isoformat(),
        "edited_timestamp": message.edited_at.isoformat() if message.edited_at else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
    }
    if message.guild_id is not None:
        payload["guild_id"] = str(message.guild_id)
    if message.nonce is not None:
        payload["nonce"] = message.nonce
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
        payload["application_id"] = str(application_id)
    return payload


def interaction_payload(interaction: Interaction, application_id: int, base_url: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(interaction.id),
        "application_id": str(application_id),
        "type": interaction.type,
        "token": interaction.token,
        "version": 1,
        "data": interaction.data,
        "channel_id": str(interaction.channel.id),
        "channel": channel_payload(interaction.channel),
        "attachment_size_limit": interaction.attachment_size_limit,
        "app_permissions": str(ALL_PERMISSIONS),
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(interaction.guild.id if interaction.guild else 0)},
        "context": 0 if interaction.guild else 1,
    }
    if interaction.guild is not None:
        payload["guild_id"] = str(interaction.guild.id)
        payload["guild_locale"] = "en-US"
        payload["member"] = member_payload(interaction.user, interaction.guild)
    else:
        payload["user"] = user_payload(interaction.user)
    if interaction.attachments:
        payload["data"] = {
            **interaction.data,
            "resolved": {"attachments": {str(a.id): attachment_payload(a, base_url) for a in interaction.attachments}},
        }
    if interaction.source_message is not None:
        payload["message"] = message_payload(interaction.source_message, base_url, application_id)
    return payload
