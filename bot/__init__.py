"""The Discord front end: slash commands, buttons and message delivery.

Never imports torch, diffusers or transformers; it talks to the GPU only through `jobs.service.JobService`.
"""
