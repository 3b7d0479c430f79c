"""The diffusion engine: a Discord-agnostic library and the `imagine` CLI.

Importing this package stays cheap (no torch): the bot uses `engine.request` and `engine.flags`
without loading any model code. The heavy parts live in `engine.engine` and are imported on demand.
"""
