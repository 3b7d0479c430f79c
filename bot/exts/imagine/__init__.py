"""Making and finding images: /imagine, /reproduce, /show, /history, /cancel, /info, /settings."""
