"""Run the service: uvicorn serving :func:`tierzero.service.app.create_app`.

uvicorn answers SIGTERM and SIGINT by refusing new connections, letting requests in flight
finish (up to 30 s) and then running the app's shutdown, which stops the workers within 25 s (a
case being analysed is finished first; a model call still open then is abandoned as in a crash,
and its case resumes from its checkpoint at the next start). Every acknowledged push was
committed before its answer, so even SIGKILL loses nothing that was acknowledged.
"""

from __future__ import annotations

import logging

import uvicorn

from tierzero.service.app import Service, create_app

# The access log names method, path and status; tokens travel only in the Authorization
# header, which it never prints.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def serve(service: Service, host: str, port: int, log_level: str = "info") -> None:
    """Serve until stopped (SIGTERM, SIGINT)."""
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    config = uvicorn.Config(
        create_app(service),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=30,
        server_header=False,
        # The client address is the connection's: an X-Forwarded-For header (trusted from
        # 127.0.0.1 by default) would let any local client pick a fresh failed-sign-in bucket.
        proxy_headers=False,
    )
    uvicorn.Server(config).run()
