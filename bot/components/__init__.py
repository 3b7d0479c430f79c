"""Persistent buttons: each is a `discord.ui.DynamicItem` whose state lives in its custom_id.

Because the job's public id and the image index are in the id itself, a button works on any
message, forever, across restarts, without a view having to be kept in memory.
"""

from bot.components.delete import DeleteButton
from bot.components.details import DetailsButton
from bot.components.pan import PanButton
from bot.components.reroll import RerollButton
from bot.components.select_image import SelectImageButton
from bot.components.upscale import UpscaleButton
from bot.components.vary import VaryButton
from bot.components.zoom_out import ZoomOutButton

DYNAMIC_ITEMS = (
    SelectImageButton,
    VaryButton,
    RerollButton,
    UpscaleButton,
    ZoomOutButton,
    PanButton,
    DetailsButton,
    DeleteButton,
)
