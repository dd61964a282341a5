"""The host end of the docker sandbox's gateway relay: a unix socket piped to one TCP port.

A container without a network can still open a unix socket mounted into it; each
connection on it is forwarded to the gateway's loopback port, and to nothing else.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from pathlib import Path


class GatewayRelay:
    """The host end of the relay: a unix socket whose connections go to one TCP port."""

    def __init__(self, socket_path: Path, port: int, host: str = "127.0.0.1") -> None:
        self.socket_path = socket_path
        self.target = (host, port)
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._accept, name="gateway-relay", daemon=True)

    def start(self) -> GatewayRelay:
        """Listen on the socket and forward in a background thread."""
        self._listener.bind(str(self.socket_path))
        self._listener.listen(64)
        # A timeout lets the accept loop see the stop flag; closing alone does not wake it.
        self._listener.settimeout(0.2)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        peers = {client: upstream, upstream: client}
        open_ends = {client, upstream}
        with client, upstream:
            while open_ends and not self._stop.is_set():
                ready, _, _ = select.select(list(open_ends), [], [], 0.2)
                for end in ready:
                    try:
                        data = end.recv(65536)
                        if data:
                            peers[end].sendall(data)
                            continue
                    except OSError:
                        return
                    # One side finished sending: pass the half-close on, keep reading.
                    open_ends.discard(end)
                    with contextlib.suppress(OSError):
                        peers[end].shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        """Stop accepting and end every forwarded connection."""
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)
