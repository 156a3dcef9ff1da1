"""A real HTTP server on a free port, serving the project's WSGI app from a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _ThreadingServer(WSGIServer):
    """One thread per request, each closing its database connections when done."""

    def process_request(self, request, client_address):
        threading.Thread(target=self._serve, args=(request, client_address), daemon=True).start()

    def _serve(self, request, client_address):
        from django.db import connections

        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            connections.close_all()


@contextmanager
def serving() -> Iterator[str]:
    """Serve the app while the block runs; yields its base URL (``http://127.0.0.1:PORT``)."""
    from django.core.handlers.wsgi import WSGIHandler

    # WSGIHandler, not get_wsgi_application(): a second django.setup() would reset logging.
    server = make_server(
        "127.0.0.1", 0, WSGIHandler(), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
