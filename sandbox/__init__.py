"""Try the bot without Discord: a local Discord-compatible server and a web page that behaves like a channel.

`sandbox.discord` is that server (REST and gateway, with the fault injection the tests use), which
the real discord.py client talks to; `sandbox.app` runs it with the real bot and serves the page.
"""
