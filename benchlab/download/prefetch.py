"""Reading a stream ahead of its consumer, so that downloading and uploading overlap.

The store sends one multipart part at a time and reads nothing while a part is in flight;
a reader thread keeps the hub connection busy meanwhile, holding at most ``max_chunks``
chunks (bounded memory).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Final

_END: Final = object()


def prefetch(chunks: Iterator[bytes], max_chunks: int = 16) -> Iterator[bytes]:
    """The chunks of ``chunks``, read by a background thread up to ``max_chunks`` ahead.

    Nothing is read until the first chunk is asked for, so a stream that is never
    consumed (an upload skipped) is never opened. Closing the returned iterator stops the
    reader and closes ``chunks``; an error of the reader is raised to the consumer.
    """
    ahead: queue.Queue[object] = queue.Queue(maxsize=max_chunks)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, who decides
            put(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = ahead.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
        reader.join()
