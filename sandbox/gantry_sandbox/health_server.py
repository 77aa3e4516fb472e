"""Per-service HTTP health endpoints on 127.0.0.1 (SPEC R22, R22b)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .engine import Engine


class HealthEndpoint:
    def __init__(self, engine: Engine, key: tuple[str, str, str, str], service_name: str, host: str) -> None:
        self.engine = engine
        self.key = key
        self.service_name = service_name
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path.split("?", 1)[0] not in ("/", "/health"):
                    status, body = 404, {"error": "not found", "hint": "GET /health"}
                else:
                    status, body, delay = endpoint.report()
                    if delay > 0:
                        time.sleep(delay)  # R22b, outside the engine lock: nothing else waits
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://{host}:{self.port}/health"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"health-{service_name}", daemon=True,
        )
        self.thread.start()

    def report(self) -> tuple[int, dict[str, Any], float]:
        """(status, body, delay): the answer as of now, and how long to hold it (R22b)."""
        with self.engine.lock:
            now = time.time()
            self.engine.sync(now)
            status, body = self.engine.health_report(self.key, self.service_name, now)
            return status, body, self.engine.health_delay(self.key, now)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=2)
