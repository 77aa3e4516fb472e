"""The /_gantry/ control API (SPEC R7–R15, R27, R29). Callers hold the engine lock."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Callable

from . import DEFAULT_REGION
from .engine import Engine, new_epoch
from .registry import Published, Registries
from .resources import Provisioner, backend, ensure_repository
from .state import FAULT_KINDS, ControlError, PublishedImage, TaskRule, dump

Response = tuple[int, Any]  # (status, JSON body or None)


def _moto_version() -> str:
    from moto import __version__

    return str(__version__)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ControlError(400, f"{field} must be a number > 0", 'e.g. {"rolloutSeconds": 2}')
    return float(value)


def _string(body: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"'{field}' must be a non-empty string", f"pass {field} in the JSON body")
    return value


class ControlAPI:
    def __init__(self, engine: Engine, provisioner: Provisioner, port: int,
                 reset_moto: Callable[[], None], registries: Registries) -> None:
        self.engine = engine
        self.provisioner = provisioner
        self.port = port
        self.reset_moto = reset_moto
        self.registries = registries
        self.epoch = new_epoch()

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes, now: float) -> Response:
        parts = [p for p in path[len("/_gantry/"):].split("/") if p]
        body = self.json_body(raw) if method in ("POST", "PUT") else {}
        route = parts[0] if parts else ""
        if route == "resources":
            return self._resources(method, parts[1:], body, now)
        handlers: dict[str, dict[str, Callable[[dict[str, Any], dict[str, str], float], Response]]] = {
            "health": {"GET": self._health},
            "reset": {"POST": self._reset},
            "images": {"POST": self._images},
            "faults": {"GET": self._faults_get, "POST": self._faults_post, "DELETE": self._faults_delete},
            "speed": {"GET": self._speed, "POST": self._speed},
            "task-rules": {"GET": self._rules_get, "POST": self._rules_post, "DELETE": self._rules_delete},
            "registries": {"GET": self._registries},
        }
        if route not in handlers or len(parts) != 1:
            raise ControlError(404, f"unknown control endpoint {path}",
                               "see sandbox/SPEC.md; endpoints: " + ", ".join(f"/_gantry/{r}" for r in [*handlers, "resources"]))
        methods = handlers[route]
        if method not in methods:
            raise ControlError(405, f"{method} not allowed on {path}", f"use {' or '.join(methods)}")
        return methods[method](body, query, now)

    @staticmethod
    def json_body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ControlError(400, f"invalid JSON body: {exc}", "send a JSON object") from exc
        if not isinstance(body, dict):
            raise ControlError(400, "the JSON body must be an object", "send a JSON object")
        return body

    # -- health / reset / speed ------------------------------------------------------------
    def _health(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        return 200, {"ok": True, "pid": os.getpid(), "port": self.port, "epoch": self.epoch,
                     "speeds": self.engine.speeds.as_json(), "motoVersion": _moto_version()}

    def _reset(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        self.reset_moto()
        self.engine.reset()
        self.provisioner.forget_all()
        self.epoch = new_epoch()
        return 200, {"ok": True, "epoch": self.epoch}

    def _speed(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        known = {"rolloutSeconds": "rollout", "snapshotSeconds": "snapshot", "taskSeconds": "task"}
        unknown = set(body) - set(known)
        if unknown:
            raise ControlError(400, f"unknown speed field(s): {', '.join(sorted(unknown))}",
                               f"use {', '.join(known)}")
        values = {attr: _number(body[k], k) for k, attr in known.items() if k in body}
        for attr, value in values.items():
            setattr(self.engine.speeds, attr, value)
        return 200, self.engine.speeds.as_json()

    # -- images ----------------------------------------------------------------------------------
    def _images(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        if "repository" not in body:
            raise ControlError(400, "'repository' (the sandbox ECR) or 'image' (a sandbox registry) is required",
                               '{"repository": "app", "tags": ["v1.0.0"]}')
        repository = _string(body, "repository")
        assert repository is not None
        tags = body.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
            raise ControlError(400, "'tags' must be a non-empty list of strings", '{"tags": ["v1.0.0"]}')
        region = str(body.get("region") or DEFAULT_REGION)
        try:
            repo = ensure_repository(region, repository)
        except Exception as exc:
            raise ControlError(400, f"cannot create repository: {getattr(exc, 'message', exc)}",
                               "use a lowercase ECR repository name") from exc
        ecr = backend("ecr", region)
        control = self.engine.control
        images = []
        for tag in tags:
            manifest = _manifest(repository, tag)
            digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
            if not any(img.image_manifest == manifest for img in repo.images):
                ecr.put_image(repository, manifest, tag, digest=digest)
            uri = f"{repo.registry_id}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}"
            if control.find_image(region, repository, tag) is None:
                control.images.append(PublishedImage(region, repository, tag, digest, uri))
            images.append({"tag": tag, "digest": digest, "imageUri": uri})
        return 200, {"images": images}

    def remember(self, published: list[Published]) -> Response:
        """Record images pushed to a sandbox registry (R29) for R12; the response of their POST."""
        control = self.engine.control
        for img in published:
            known = control.find_image("", img.image, img.tag)  # region "": not an ECR image
            if known is None:
                control.images.append(PublishedImage("", img.image, img.tag, img.digest, img.uri))
            else:
                known.digest, known.uri = img.digest, img.uri
        return 200, {"images": [{"tag": i.tag, "digest": i.digest, "imageUri": i.uri} for i in published]}

    # -- registries (R27) -----------------------------------------------------------------------------
    def _registries(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        return 200, self.registries.listing()

    # -- faults --------------------------------------------------------------------------------------
    def _faults_get(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        return 200, {"faults": dump(self.engine.control.faults)}

    def _faults_post(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        tag = _string(body, "tag")
        kind = _string(body, "kind")
        assert tag is not None and kind is not None
        if kind not in FAULT_KINDS:
            raise ControlError(400, f"unknown fault kind '{kind}'", f"use one of: {', '.join(FAULT_KINDS)}")
        alarm_name = _string(body, "alarmName", required=False)
        if alarm_name and kind != "alarm":
            raise ControlError(400, "alarmName is only valid for kind 'alarm'", "drop alarmName or use kind 'alarm'")
        delay: float | None = None
        if "delaySeconds" in body:
            if kind != "slow":
                raise ControlError(400, "delaySeconds is only valid for kind 'slow'",
                                   "drop delaySeconds or use kind 'slow'")
            delay = _number(body["delaySeconds"], "delaySeconds")
            if delay > 60:
                raise ControlError(400, "delaySeconds must be at most 60", '{"kind": "slow", "delaySeconds": 1.5}')
        repository = _string(body, "repository", required=False)
        self.engine.control.add_fault(tag, kind, alarm_name, now, delay, repository or None)
        return 200, {"faults": dump(self.engine.control.faults)}

    def _faults_delete(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        self.engine.control.clear_faults(query.get("tag"))
        return 200, {"faults": dump(self.engine.control.faults)}

    # -- task rules -------------------------------------------------------------------------------------
    def _rules_get(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        return 200, {"rules": dump(self.engine.control.rules)}

    def _rules_post(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        exit_code = body.get("exitCode")
        if isinstance(exit_code, bool) or not isinstance(exit_code, int):
            raise ControlError(400, "'exitCode' must be an integer", '{"image": "v2", "exitCode": 1}')
        rule = TaskRule(exit_code, _string(body, "image", required=False),
                        _string(body, "commandContains", required=False))
        self.engine.control.rules.append(rule)
        return 200, {"rules": dump(self.engine.control.rules)}

    def _rules_delete(self, body: dict[str, Any], query: dict[str, str], now: float) -> Response:
        self.engine.control.rules.clear()
        return 200, {"rules": []}

    # -- resources ----------------------------------------------------------------------------------------
    def _resources(self, method: str, parts: list[str], body: dict[str, Any], now: float) -> Response:
        if not parts:
            if method != "GET":
                raise ControlError(405, f"{method} not allowed on /_gantry/resources", "use GET")
            return 200, {"resources": self.provisioner.listing()}
        if len(parts) != 2:
            raise ControlError(404, "resource paths are /_gantry/resources/<kind>/<name>",
                               f"kinds: {', '.join(Provisioner.KINDS)}")
        kind, name = parts
        if method == "PUT":
            return 200, self.provisioner.put(kind, name, body)
        if method == "GET":
            res = self.provisioner.get(kind, name)
            if res is None:
                raise ControlError(404, f"{kind}/{name} is not provisioned", "create it with PUT first")
            return 200, res.as_json()
        if method == "DELETE":
            self.provisioner.delete(kind, name)
            return 204, None
        raise ControlError(405, f"{method} not allowed on resources", "use PUT, GET or DELETE")


def _manifest(repository: str, tag: str) -> str:
    def sha(text: str) -> str:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(f"{repository}:{tag}:config"), "size": 1024},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha(f"{repository}:{tag}:layer"), "size": 4096}],
        "annotations": {"org.opencontainers.image.version": tag,
                        "org.opencontainers.image.title": repository},
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"))

