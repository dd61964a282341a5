"""The gateway as a context manager: uvicorn on a loopback port in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType

import uvicorn
import uvloop

from benchlab.errors import ServiceError
from benchlab.gateway.app import GatewayApp
from benchlab.gateway.recorder import Limits, TrialRecorder
from benchlab.results import ModelCall


class Gateway:
    """The recording gateway; open one route per trial, close it to get its calls.

    Example:
        with Gateway() as gateway:
            base = gateway.open_route("t1", server.openai_base_url, "model")
            ...  # the agent uses ``base`` as its OpenAI base URL
            calls = gateway.close_route("t1")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        upstream_timeout_s: float = 1800.0,
        start_timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.start_timeout_s = start_timeout_s
        self._routes: dict[str, TrialRecorder] = {}
        self._app = GatewayApp(
            self._routes, connect_timeout_s=10.0, read_timeout_s=upstream_timeout_s
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the gateway."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Gateway:
        """Start serving; returns once the port accepts connections.

        Raises:
            ServiceError: When the server does not come up.
        """
        # Binding here, not in uvicorn, means the port is ours before anyone races for it.
        # proto must be named: asyncio sets TCP_NODELAY on accepted sockets only when it
        # is IPPROTO_TCP, and without it every answer stalls ~40 ms on delayed ACKs.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            # HTTP parsed in C and libuv's loop: each takes a share of the per-call cost.
            http="httptools",
            loop="uvloop",
            proxy_headers=False,
            server_header=False,
            # A stream left open by a stuck agent must not hold the shutdown forever.
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        self._server = server

        def serve() -> None:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(
            target=serve,
            name="benchlab-gateway",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServiceError(f"gateway did not start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    def open_route(
        self,
        trial_id: str,
        upstream_base_url: str,
        model_alias: str,
        api_key: str | None = None,
        limits: Limits | None = None,
    ) -> str:
        """Open the route of one trial.

        Args:
            trial_id: Unique id of the trial; part of the route's URL.
            upstream_base_url: The upstream's OpenAI base URL (ending in ``/v1``).
            model_alias: The model name sent upstream, whatever the agent asks for.
            api_key: Sent upstream as a bearer token; never recorded.
            limits: The trial's limits.

        Returns:
            The route's OpenAI base URL, ``http://host:port/t/<trial_id>/v1``.
        """
        if trial_id in self._routes:
            raise ValueError(f"gateway route for trial {trial_id!r} is already open")
        self._routes[trial_id] = TrialRecorder(
            trial_id, upstream_base_url, model_alias, api_key=api_key, limits=limits
        )
        return f"{self.base_url}/t/{trial_id}/v1"

    def recorder(self, trial_id: str) -> TrialRecorder:
        """The live recorder of an open route (e.g. to watch ``stopped_by``)."""
        return self._routes[trial_id]

    def close_route(self, trial_id: str, wait_s: float = 5.0) -> list[ModelCall]:
        """Close a trial's route; returns its calls in order.

        Calls still in flight are waited for up to ``wait_s``; later calls get 404.
        """
        recorder = self._routes.pop(trial_id)
        return recorder.calls(wait_s=wait_s)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
