"""A job that dies mid-listing: lists until it has copied ``count`` rows, prints them and its
resume token as one JSON line, and exits at once (no clean-up: as if killed).

    python -m tests._drift_child <moi|maxir> <url> <count> [dataset]

Credentials come from the environment (``ASYNCSDK_*``, as the emulator prints them).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from asyncsdk import MaxirClient, MOIClient


async def run(service: str, url: str, count: int, dataset: str) -> None:
    env = os.environ
    client: Any
    if service == "moi":
        client = MOIClient(
            url,
            account_name=env["ASYNCSDK_MOI_ACCOUNT_NAME"],
            username=env["ASYNCSDK_MOI_USERNAME"],
            password=env["ASYNCSDK_MOI_PASSWORD"],
        )
        listing = client.tasks.list(page_size=100, concurrency=8)
    else:
        client = MaxirClient(
            url, api_key=env["ASYNCSDK_MAXIR_API_KEY"], user_id=env["ASYNCSDK_MAXIR_USER_ID"]
        )
        listing = client.datasources.list(dataset, page_size=100, concurrency=8)
    it = aiter(listing)
    copied = []
    async for item in it:
        copied.append(item.id)
        if len(copied) == count:
            break
    print(json.dumps({"ids": copied, "token": it.resume_token}), flush=True)
    os._exit(0)


if __name__ == "__main__":
    service, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run(run(service, url, count, sys.argv[4] if len(sys.argv) > 4 else ""))
