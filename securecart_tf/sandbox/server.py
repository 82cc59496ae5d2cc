"""The sandbox server process: moto's server, behind the shims, on a loopback port.

Run by `securecart-tf sandbox up` as `python -m securecart_tf.sandbox.server --log FILE`. It binds a free
port, prints one READY line with the port to stdout, then logs only to FILE.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from securecart_tf.sandbox import READY


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="securecart_tf.sandbox.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--session", default="")
    args = parser.parse_args(argv)

    # AWS managed policy ARNs resolve only when moto loads them; must be set before moto is imported. On by
    # default; a benchmark that builds a thousand accounts' IAM may start the sandbox with "false", since
    # loading them costs about a second per account the first time its IAM is touched.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from securecart_tf.sandbox.shims import Shims, patch_moto
    from securecart_tf.sandbox.transport import OneAtATime

    patch_moto()
    app = OneAtATime(Shims(DomainDispatcherApplication(create_backend_app), session=args.session))
    server = make_server(args.host, args.port, app, threaded=True)
    log = open(args.log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    print(f"{READY} {server.server_port}", flush=True)
    os.dup2(log.fileno(), sys.stdout.fileno())
    os.dup2(log.fileno(), sys.stderr.fileno())

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for a run must not kill the sandbox
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
