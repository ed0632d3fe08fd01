"""The worker threads generation and rendering run in, off the event loop, with bounded queues."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tunesmith.web.schema import ApiError

# ---------------------------------------------------------------- jobs


class JobPool:
    """Worker threads with a bounded queue: jobs past workers + max_waiting are refused (429).

    Works from any event loop (the future is a thread's, wrapped), so TestClient and uvicorn agree.
    """

    def __init__(self, workers: int, max_waiting: int, name: str):
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"tunesmith-{name}")
        self.workers, self.limit, self.name = workers, workers + max_waiting, name
        self.pending = 0
        self._lock = threading.Lock()

    async def run(self, fn: Callable, *args: object) -> object:
        with self._lock:
            if self.pending >= self.limit:
                raise ApiError(429, f"the server is busy: {self.pending} {self.name} jobs are running or queued; "
                                    "try again in a few seconds", headers={"Retry-After": "5"})
            self.pending += 1
        future = self.executor.submit(fn, *args)
        future.add_done_callback(self._finished)  # counted until the thread is done, even if the client left
        return await asyncio.wrap_future(future)

    def _finished(self, _: object) -> None:
        with self._lock:
            self.pending -= 1

    def state(self) -> dict:
        return {"pending": self.pending, "workers": self.workers, "limit": self.limit}
