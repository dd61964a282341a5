"""The upstream hop: bytes forwarded as sent, pooled connections, HTTP edge cases."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from benchlab.gateway import Gateway, Limits
from tests.gateway.fake_openai import Script

ANSWER = {
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "fine"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}


def _open(gateway: Gateway, upstream: str, limits: Limits | None = None) -> tuple[str, str]:
    trial = uuid.uuid4().hex[:8]
    return trial, gateway.open_route(trial, upstream, "m", limits=limits)


def test_body_goes_upstream_byte_for_byte_when_nothing_changes(
    gateway: Gateway, fake: tuple[str, Script]
) -> None:
    upstream, script = fake
    script.body = ANSWER
    trial, url = _open(gateway, upstream)
    # Odd spacing and a raw non-ASCII character: a re-serialised body would differ.
    as_sent = '{ "model":"m",  "messages": [{"role": "user", "content": "héllo"}] }'.encode()
    renamed = as_sent.replace(b'"model":"m"', b'"model":"agent-name"')
    for body in (as_sent, renamed):
        answer = httpx.post(
            f"{url}/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert answer.json() == ANSWER
    calls = gateway.close_route(trial)
    assert script.raw[0] == as_sent
    # A body that needs the route's model is rewritten, and only that changes.
    assert json.loads(script.raw[1]) == {**json.loads(renamed), "model": "m"}
    assert [c.model for c in calls] == ["m", "agent-name"]
    assert calls[0].response_text == "fine" and calls[0].usage.completion_tokens == 1


def test_token_cap_rewrites_only_when_it_lowers_the_ask(
    gateway: Gateway, fake: tuple[str, Script]
) -> None:
    upstream, script = fake
    script.body = ANSWER
    trial, url = _open(gateway, upstream, Limits(max_output_tokens=100))
    within = b'{"model": "m", "max_tokens": 50, "messages": []}'
    beyond = b'{"model": "m", "max_tokens": 500, "messages": []}'
    for body in (within, beyond):
        httpx.post(f"{url}/chat/completions", content=body, timeout=30)
    gateway.close_route(trial)
    assert script.raw[0] == within
    assert json.loads(script.raw[1])["max_tokens"] == 99  # the first answer used one


def test_calls_reuse_one_upstream_connection(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    script.body = ANSWER
    trial, url = _open(gateway, upstream)
    with httpx.Client(timeout=30) as client:
        for _ in range(5):
            client.post(f"{url}/chat/completions", json={"messages": []}).raise_for_status()
    assert len(gateway.close_route(trial)) == 5
    assert script.connections == 1


@contextmanager
def _closing_upstream(answer: bytes) -> Iterator[str]:
    """An upstream that answers each connection once with ``answer``, then closes it."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    finally:
        server.close()


def test_answer_delimited_by_the_connection_end(gateway: Gateway) -> None:
    payload = json.dumps(ANSWER).encode()
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
    with _closing_upstream(answer + payload) as upstream:
        trial, url = _open(gateway, upstream)
        replies = [
            httpx.post(f"{url}/chat/completions", json={"messages": []}, timeout=30)
            for _ in range(2)
        ]
        calls = gateway.close_route(trial)
    assert [r.content for r in replies] == [payload, payload]
    assert [(c.status_code, c.response_text) for c in calls] == [(200, "fine")] * 2


def test_garbage_from_upstream_is_a_recorded_502(gateway: Gateway) -> None:
    with _closing_upstream(b"this is not HTTP\r\n\r\n") as upstream:
        trial, url = _open(gateway, upstream)
        reply = httpx.post(f"{url}/chat/completions", json={"messages": []}, timeout=30)
        [call] = gateway.close_route(trial)
    assert reply.status_code == 502 and reply.json()["error"]["code"] == "upstream_error"
    assert call.status_code == 502 and call.error
    assert call.error.startswith("benchlab gateway: upstream failed")


def test_wrong_method_and_path(gateway: Gateway, fake: tuple[str, Script]) -> None:
    upstream, script = fake
    trial, url = _open(gateway, upstream)
    assert httpx.get(f"{url}/chat/completions").status_code == 405
    assert httpx.post(f"{url}/models").status_code == 405
    for path in ("/t", "/t/", f"/t/{trial}/v2/models", f"/t/{trial}/v1/models/x"):
        assert httpx.get(f"{gateway.base_url}{path}").status_code == 404
    assert gateway.close_route(trial) == [] and script.seen == []
