"""The fault proxy the reliability tests put in front of the sandbox: what it passes through, and how."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.faultproxy import FaultProxy, Rule

ROOTS = json.dumps({"Roots": [{"Id": "r-abcd", "Name": "Root", "PolicyTypes": []}]}).encode()


class _Upstream(BaseHTTPRequestHandler):
    """A stand-in for the sandbox: every call gets ROOTS, the way moto's server answers (headers, then body)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(ROOTS)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(ROOTS)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _call(url: str, operation: str) -> tuple[http.client.HTTPResponse, bytes]:
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/",
        body=b"{}",
        headers={"X-Amz-Target": f"AWSOrganizationsV20161128.{operation}", "amz-sdk-request": "attempt=1; max=2"},
    )
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_an_answer_leaves_the_proxy_in_one_write(upstream: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers and body go out together, so a client never holds headers while the body lags behind."""
    with FaultProxy(upstream) as proxy:
        proxy_port = int(proxy.url.rsplit(":", 1)[1])
        writes: list[bytes] = []
        real_send, real_sendall = socket.socket.send, socket.socket.sendall

        def counted(real: Any) -> Any:
            def write(sock: socket.socket, data: Any, *args: Any) -> Any:
                if sock.getsockname()[1] == proxy_port:
                    writes.append(bytes(data))
                return real(sock, data, *args)

            return write

        monkeypatch.setattr(socket.socket, "send", counted(real_send))
        monkeypatch.setattr(socket.socket, "sendall", counted(real_sendall))
        resp, body = _call(proxy.url, "ListRoots")

    assert resp.status == 200 and body == ROOTS
    assert len(writes) == 1, [w[:40] for w in writes]
    assert writes[0].startswith(b"HTTP/1.1 200") and writes[0].endswith(ROOTS)


def test_the_proxy_keeps_the_connection_the_sandbox_closes(upstream: str) -> None:
    """The sandbox closes every connection; the proxy answers with keep-alive, as AWS does."""
    with FaultProxy(upstream) as proxy:
        resp, body = _call(proxy.url, "ListRoots")
    assert body == ROOTS
    assert resp.getheader("Connection") is None and resp.getheader("Content-Length") == str(len(ROOTS))


def test_a_fault_is_answered_in_the_protocol_the_call_used(upstream: str) -> None:
    with FaultProxy(upstream, [Rule("throttle", limit=1)]) as proxy:
        first, first_body = _call(proxy.url, "EnablePolicyType")
        second, second_body = _call(proxy.url, "EnablePolicyType")
    assert first.status == 400 and json.loads(first_body)["__type"] == "ThrottlingException"
    assert second.status == 200 and second_body == ROOTS
    assert [s.operation for s in proxy.seen] == ["EnablePolicyType", "EnablePolicyType"]
    assert proxy.injected["throttle"] == 1
