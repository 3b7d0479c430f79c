"""Making images: /imagine, 🔄, V1–V4 and Vary, Upscale, Zoom Out, Pan, /reproduce, and /settings (your defaults)."""
