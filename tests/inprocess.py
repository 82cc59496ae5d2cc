"""The sandbox's WSGI app (moto behind the shims) served on a loopback port inside the test process.

Tests talk HTTP to it with boto3 exactly as to the sandbox server, without the seconds a server process takes
to start. moto's state lives in this process: one `serve()` at a time.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto import mock_aws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from securecart_tf.sandbox import SandboxInfo
from securecart_tf.sandbox.shims import Shims, WSGIApp, patch_moto
from securecart_tf.sandbox.transport import OneAtATime


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(wrap: Callable[[WSGIApp], WSGIApp] | None = None) -> Iterator[SandboxInfo]:
    """A fresh, empty sandbox app (behind `wrap`, if given); yields a SandboxInfo whose endpoint and keys reach it."""
    patch_moto()
    with mock_aws():
        app: WSGIApp = OneAtATime(Shims(DomainDispatcherApplication(create_backend_app)))
        if wrap is not None:
            app = wrap(app)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield SandboxInfo(os.getpid(), server.server_port, "in-process", "AKIASANDBOXINPROC001", "secret", 0.0)
        finally:
            server.shutdown()
            thread.join(timeout=10)
