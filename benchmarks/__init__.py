"""Benchmarks: asyncsdk against hand-written aiohttp and httpx, in the same run."""
