"""The queue: /cancel and /info."""
