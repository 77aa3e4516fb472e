"""WSGI middleware: the /_gantry/ control API in front of moto's dispatcher (SPEC R3, R5, R7, R16a, R28, R29)."""

from __future__ import annotations

import io
import json
import re
import sys
import time
import traceback
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import hooks
from .control import ControlAPI
from .engine import Engine
from .registry import Registries
from .resources import Provisioner
from .state import ControlError, Speeds

StartResponse = Callable[..., Any]
_SCOPE = re.compile(r"Credential=[^/]*/[^/]*/[^/]*/([^/]*)/")
_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error", 502: "Bad Gateway"}


def log(message: str) -> None:
    print(f"gantry-sandbox: {message}", file=sys.stderr, flush=True)


def reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


class SandboxApp:
    def __init__(self, speeds: Speeds, host: str, port: int, quiet: bool = False,
                 registries: Registries | None = None) -> None:
        self.engine = Engine(speeds)
        hooks.install(self.engine)
        self.provisioner = Provisioner(self.engine, host)
        self.registries = registries or Registries(None)
        self.control = ControlAPI(self.engine, self.provisioner, port, reset_moto, self.registries)
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.quiet = quiet

    def close(self) -> None:
        """Close every health endpoint (process shutdown)."""
        with self.engine.lock:
            self.provisioner.forget_all()
            endpoints = self.provisioner.take_to_close()
        for endpoint in endpoints:
            endpoint.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "") or ""
        if path.startswith("/_gantry/") or path == "/_gantry":
            extra: list[tuple[str, str]] = []
            if path == "/_gantry/registry/token":
                status, body, extra = self._token(environ)
            else:
                status, body = self._control(environ, path)
            label = f"{environ.get('REQUEST_METHOD')} {path}"
            data = b"" if body is None else json.dumps(body).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *extra]
            start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
            result: Iterable[bytes] = [data]
        else:
            label = self._operation(environ)
            status, result = self._aws(environ, start_response)
        if not self.quiet:
            log(f"{label} {status} {int((time.perf_counter() - started) * 1000)}ms")
        return result

    def _token(self, environ: dict[str, Any]) -> tuple[int, Any, list[tuple[str, str]]]:
        """R28, outside the engine lock: the publishing of R29 asks for tokens while it runs."""
        if environ.get("REQUEST_METHOD") != "GET":
            return 405, {"error": "use GET on /_gantry/registry/token", "hint": "see SPEC R28"}, []
        try:
            return self.registries.token(str(environ.get("HTTP_AUTHORIZATION", "")),
                                         str(environ.get("QUERY_STRING", "")))
        except ControlError as exc:
            return exc.status, {"error": exc.error, "hint": exc.hint}, []

    def _control(self, environ: dict[str, Any], path: str) -> tuple[int, Any]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        raw = _read_body(environ)
        try:
            if method == "POST" and path.rstrip("/") == "/_gantry/images":
                body = self.control.json_body(raw)
                if "image" in body:
                    # R29: the pushes talk to the registries (and to the token realm) outside the lock.
                    if "repository" in body:
                        raise ControlError(400, "give either 'repository' (the sandbox ECR) or 'image' (a sandbox "
                                                "registry), not both", '{"image": "127.0.0.1:5000/org/api"}')
                    published = self.registries.publish(body)
                    with self.engine.lock:
                        return self.control.remember(published)
            with self.engine.lock:
                now = time.time()
                self.engine.sync(now)
                response = self.control.handle(method, path, query, raw, now)
                endpoints = self.provisioner.take_to_close()
        except ControlError as exc:
            return exc.status, {"error": exc.error, "hint": exc.hint}
        except Exception as exc:  # a bug or an unexpected moto error: report, keep serving
            traceback.print_exc(file=sys.stderr)
            return 500, {"error": f"internal error: {exc}", "hint": "see the sandbox's stderr"}
        for endpoint in endpoints:  # outside the lock: shutdown waits for the endpoint's loop
            endpoint.close()
        return response

    def _aws(self, environ: dict[str, Any], start_response: StartResponse) -> tuple[int, Iterable[bytes]]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        try:
            with self.engine.lock:
                self.engine.sync(time.time())
                result = self.moto(environ, capture)
                try:
                    body = b"".join(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            data = json.dumps({"__type": "InternalFailure", "message": f"gantry-sandbox: {exc}"}).encode()
            start_response("500 Internal Server Error",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return 500, [data]
        headers = list(captured["headers"])
        if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return int(str(captured["status"]).split()[0]), [body]

    @staticmethod
    def _operation(environ: dict[str, Any]) -> str:
        """`service.Operation` for the log line."""
        match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "") or "")
        service = match.group(1) if match else "?"
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return f"{service}.{target.rsplit('.', 1)[-1]}"
        action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
        if not action and str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
            raw = _read_body(environ)
            action = parse_qs(raw.decode("utf-8", "replace")).get("Action")
        if action:
            return f"{service}.{action[0]}"
        return f"{service}.{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '')}"


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back so the next reader sees it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw
