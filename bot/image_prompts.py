"""Images members give as prompts — an attachment, URLs at the start of a prompt, /blend — fetched safely,
checked and stored under DATA_DIR/sources/, where jobs name them.

A member's URL makes the bot's machine fetch something, so every step is bounded: http(s) only; never an
address on this machine or its networks (checked at each connection, after DNS, so a name that resolves
to 127.0.0.1 or a redirect to the LAN is refused too) unless the operator allows it; at most three
redirects; a size limit enforced while reading; an image content type, and then bytes that really are a PNG,
JPEG, WebP or GIF (`bot.uploads.decode`: no other decoder of Pillow's is ever given them); the pixel count
checked from the header before decoding; one time limit on the whole fetch — every redirect, the wait for a
connection and the body together; and one fetch at a time per member, so nobody can hold the shared
connections and starve everyone else's. What is stored is a fresh PNG of the pixels (no
metadata of the original), named by its hash, so a reroll, variation or /reproduce of the job starts
from exactly the same image. Jobs share it by that name; it is removed once no job that may still be
reproduced names it (`jobs.storage`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import ipaddress
import os
import re
import socket
import uuid
from pathlib import Path

import aiohttp
import discord
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.errors import UserFacingError
from bot.uploads import ImageEncoder, UnreadableImage, accepted, decode

MAX_REDIRECTS = 3
# The content types a member's image may declare; its bytes are then checked for the same formats.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
# Connections the bot opens for members' images at once, and how many of them one member may hold.
CONNECTIONS = 8
FETCHES_PER_MEMBER = 1
CHUNK = 64 * 1024
# Image URLs Midjourney accepts at the start of a prompt, before the text.
_LEADING_URL = re.compile(r"\s*(<?(https?://\S+?)>?)(?=\s|$)", re.IGNORECASE)


class ImageRefused(UserFacingError):
    """An image prompt the bot will not use; the message says why and what would work."""


def leading_urls(prompt: str, limit: int) -> tuple[list[str], str]:
    """The image URLs at the start of a prompt (Midjourney's form: `https://… https://… a cat --iw 2`) and the
    rest of it. Any scheme but http(s) is left in the prompt as text, where it does nothing."""
    urls: list[str] = []
    rest = prompt
    while (match := _LEADING_URL.match(rest)) is not None:
        urls.append(match.group(2))
        rest = rest[match.end() :]
    if len(urls) > limit:
        raise ImageRefused(f"A prompt can start from at most {limit} images; this one names {len(urls)}.")
    return urls, rest.strip()


def _public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_global


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp does, then refuses a name whose addresses are not all public."""

    def __init__(self) -> None:
        self._resolver = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if not results or not all(_public(result["host"]) for result in results):
            raise ImageRefused(f"{host} is not a public address; image prompts come from the public web only.")
        return results

    async def close(self) -> None:
        await self._resolver.close()


class ImagePrompts:
    """Given where to store images (DATA_DIR/sources), the encoder whose threads decode them (and whose pixel
    limit is the largest image the bot makes), the byte limit, the fetch time limit, and whether addresses
    on this machine's networks may be fetched (for local testing only)."""

    def __init__(
        self, folder: Path, encoder: ImageEncoder, *, max_bytes: int, timeout: float, private_addresses: bool
    ) -> None:
        self._folder = folder
        self._encoder = encoder
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._private_addresses = private_addresses
        self._session: aiohttp.ClientSession | None = None
        self._fetching: dict[int, int] = {}  # member id: fetches under way

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def from_attachment(self, attachment: discord.Attachment) -> str:
        """An image attached to the command: Discord says its size and type before anything is read."""
        if attachment.size > self._max_bytes:
            raise ImageRefused(
                f"{_name(attachment.filename)} is {_mb(attachment.size)}; images may be {_mb(self._max_bytes)}."
            )
        if (attachment.content_type or "").split(";")[0] not in IMAGE_TYPES:
            raise ImageRefused(f"{_name(attachment.filename)} is not a {accepted()} image.")
        try:
            data = await attachment.read()
        except discord.HTTPException as error:
            raise ImageRefused(
                f"{_name(attachment.filename)} could not be read from Discord ({error.status})."
            ) from error
        return await self.store(data, _name(attachment.filename))

    async def from_url(self, url: str, *, member: int) -> str:
        """An image on the web, fetched for `member` (their user id) within one time limit, all redirects
        and the body included; while one of theirs is downloading, another is refused."""
        if self._fetching.get(member, 0) >= FETCHES_PER_MEMBER:
            raise ImageRefused("You already have an image downloading; give this one once that is done.")
        self._fetching[member] = self._fetching.get(member, 0) + 1
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._fetch(URL(url))
        except TimeoutError:
            raise ImageRefused(f"{_shown(url)} took too long to download.") from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, ImageRefused):
                raise error.os_error from None
            raise ImageRefused(f"{_shown(url)} could not be reached.") from None
        except (aiohttp.ClientError, ValueError) as error:
            raise ImageRefused(f"{_shown(url)} could not be downloaded ({type(error).__name__}).") from None
        finally:
            self._fetching[member] -= 1
            if not self._fetching[member]:
                del self._fetching[member]
        return await self.store(data, _shown(url))

    async def store(self, data: bytes, what: str) -> str:
        """Decode (pixels checked from the header first), re-encode as PNG, store by hash; the absolute path."""
        try:
            png = await self._encoder.run(_as_png, data, self._encoder.max_pixels)
        except UnreadableImage as error:
            raise ImageRefused(f"{what}: {error}.") from None
        path = self._folder / f"{hashlib.sha256(png).hexdigest()}.png"
        await self._encoder.run(_keep, path, png)
        return str(path.resolve())

    async def _fetch(self, url: URL) -> bytes:
        """The body at `url`, following at most MAX_REDIRECTS; the caller bounds the time of all of it."""
        session = self._session or self._open_session()
        for _ in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            async with session.get(url, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = url.join(URL(response.headers["Location"]))
                    continue
                if response.status != 200:
                    raise ImageRefused(f"{_shown(str(url))} answered {response.status}, not an image.")
                kind = response.content_type
                if kind not in IMAGE_TYPES:
                    raise ImageRefused(f"{_shown(str(url))} is not a {accepted()} image ({_shown(kind)}).")
                if (response.content_length or 0) > self._max_bytes:
                    raise self._too_large(url)
                return await self._read(response, url)
        raise ImageRefused(f"{_shown(str(url))} redirects more than {MAX_REDIRECTS} times.")

    async def _read(self, response: aiohttp.ClientResponse, url: URL) -> bytes:
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data += chunk
            if len(data) > self._max_bytes:
                raise self._too_large(url)
        return bytes(data)

    def _check_url(self, url: URL) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise ImageRefused(f"{_shown(str(url))} is not an http(s) address; image prompts are web images.")
        try:
            literal = ipaddress.ip_address(url.host)
        except ValueError:
            return  # a name: the resolver checks where it points
        if not literal.is_global and not self._private_addresses:
            raise ImageRefused(f"{url.host} is not a public address; image prompts come from the public web only.")

    def _too_large(self, url: URL) -> ImageRefused:
        return ImageRefused(
            f"{_shown(str(url))} is larger than {_mb(self._max_bytes)}, the most an image prompt may be."
        )

    def _open_session(self) -> aiohttp.ClientSession:
        resolver = aiohttp.ThreadedResolver() if self._private_addresses else PublicOnlyResolver()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=resolver, limit=CONNECTIONS), headers={"User-Agent": "imagine-bot"}
        )
        return self._session


def _as_png(data: bytes, max_pixels: int) -> bytes:
    image = decode(data, max_pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _keep(path: Path, png: bytes) -> None:
    """Store the PNG, or mark the copy already there as just given: the sweep of DATA_DIR/sources spares a file
    changed within the last hour (`jobs.sources`), so an old copy no job names yet is not removed under the job
    about to be submitted with it."""
    try:
        os.utime(path)
    except FileNotFoundError:
        _write(path, png)


def _write(path: Path, png: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two members giving the same image at once must not write into one partial file.
    partial = path.with_name(f"{path.stem}-{uuid.uuid4().hex[:8]}.part")
    partial.write_bytes(png)
    partial.replace(path)


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB"


def _name(filename: str) -> str:
    return _shown(filename, 60)


def _shown(text: str, limit: int = 80) -> str:
    """Member text quoted in a refusal: in a code span (no markdown, links or mentions), on one line, bounded."""
    text = " ".join(text.replace("`", "'").split())
    return f"`{text[: limit - 1]}…`" if len(text) > limit else f"`{text}`"
