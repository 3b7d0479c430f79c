"""Benchmarks: the naive diffusers baseline, the engine and the queue on the same bursts of jobs.

See docs/performance.md.
"""
