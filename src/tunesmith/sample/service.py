"""A sampler that serves many callers at once: one thread, one model, one batch that stays full.

A web server's requests each want a few tunes. Written one request after another they queue
behind each other; written by several threads they fight over the cores and the GIL. The service
instead keeps one decode loop (tunesmith.sample.decoding) running on its own thread: a request's
tunes join the batch as soon as a row comes free, whatever the other rows are writing, each tune
with its own settings, script, constraint and random stream. So a tune comes out as sample_tunes
writes it alone, and a request waits for its own tunes, not for a whole batch.

Each tune's script is followed from its first character (the prompt is <s> alone), since the
requests in a batch ask for different headers.

Example:
    service = SamplerService(load_model("default"))
    texts = generate(service.model, 2, seed=1, service=service)
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future

import torch

from tunesmith.sample.decoding import DEFAULT_ROWS, Chooser, Draft, decode, to_sample
from tunesmith.sample.settings import Sample
from tunesmith.store.checkpoint import TrainedModel

__all__ = ["SamplerService"]


class SamplerService:
    """Writes the tunes callers hand it on one thread, `rows` at a time, in the order they arrive."""

    def __init__(self, model: TrainedModel, rows: int = DEFAULT_ROWS):
        self.model, self.rows = model, rows
        self._waiting: deque[tuple[Draft, Future]] = deque()
        self._running: dict[int, Future] = {}  # requests with a tune in the batch, by id
        self._work = threading.Condition()
        self._chooser = Chooser(model.vocab)
        threading.Thread(target=self._serve, name="tunesmith-sampler", daemon=True).start()

    def write(self, tunes: list[Draft], timeout: float | None = None) -> list[Sample]:
        """Write these tunes (each from its first character) and wait for all of them: their Samples, in order."""
        return self.submit(tunes).result(timeout)

    def submit(self, tunes: list[Draft]) -> Future:
        """Queue the tunes; the future's result is their Samples in order, or the ValueError one of them met."""
        future: Future = Future()
        if not tunes:
            future.set_result([])
            return future
        left = [len(tunes)]

        def one_done(tune: Draft) -> None:  # called on the service's thread
            left[0] -= 1
            if future.done():
                return
            if tune.error is not None:
                future.set_exception(tune.error)
            elif left[0] == 0:
                future.set_result([to_sample(self.model.vocab, t) for t in tunes])
            if future.done():
                self._running.pop(id(future), None)

        for tune in tunes:
            tune.done = one_done
        with self._work:
            self._waiting.extend((tune, future) for tune in tunes)
            self._work.notify()
        return future

    def waiting(self) -> int:
        """Tunes queued and not yet started."""
        return len(self._waiting)

    def _next(self) -> Draft | None:
        with self._work:
            while self._waiting:
                tune, future = self._waiting.popleft()
                if not future.done():  # a request that failed already needs no more of its tunes
                    self._running[id(future)] = future
                    return tune
            return None

    def _serve(self) -> None:
        self.model.network.eval()
        while True:
            with self._work:
                while not self._waiting:
                    self._work.wait()
            try:
                with torch.no_grad():
                    decode(self.model.network, self._next, [self.model.vocab.bos], self._chooser, self.rows)
            except Exception as error:  # a bug: every request in the batch hears of it, the service goes on
                for future in list(self._running.values()):
                    if not future.done():
                        future.set_exception(error)
                self._running.clear()
