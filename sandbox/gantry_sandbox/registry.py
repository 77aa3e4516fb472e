"""The sandbox's OCI registries, seen from the server (SPEC R27–R29).

gantry starts two CNCF Distribution registries beside the server (src/sandbox/registry.ts) and
hands the server a JSON file (`--registries FILE`) describing them: their hosts, the sandbox-only
credentials, and the key the token registry trusts. The server then

- issues the token registry's Bearer tokens (`GET /_gantry/registry/token`, R28): ES256 JWTs
  signed with that key, for the sandbox credentials only;
- publishes small real images to either registry (`POST /_gantry/images` with `image`, R29),
  authenticating the way the registry asks, as any client would.

Nothing here touches the engine: callers do the network I/O outside the engine lock (R16a) and
record the published images under it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import re
import secrets
import tarfile
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .state import ControlError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
#: The platform an image is built for when the request names none (the one Fargate runs).
DEFAULT_PLATFORM = "linux/amd64"
#: Lifetime of an issued token, seconds.
TOKEN_SECONDS = 300
#: Deadline of one request to a registry, seconds.
REQUEST_SECONDS = 10.0
_ACTIONS = ("pull", "push", "delete", "*")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")
_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Registry:
    name: str
    host: str
    auth: str  # "basic" | "bearer"
    realm: str | None

    def as_json(self, username: str, password: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "host": self.host, "auth": self.auth,
                               "username": username, "password": password}
        if self.realm:
            out["realm"] = self.realm
        return out


@dataclass(frozen=True)
class Published:
    """One tag pushed to a registry: what R12 needs to map its digest back to the tag."""

    image: str  # host/name
    tag: str
    digest: str
    uri: str


class Registries:
    """The registries of the `--registries` file; `None` config → no registries (R27)."""

    def __init__(self, config_file: str | None) -> None:
        self.registries: list[Registry] = []
        self.username = ""
        self.password = ""
        self.issuer = ""
        self.service = ""
        self.kid = ""
        self.key: ec.EllipticCurvePrivateKey | None = None
        if config_file is None:
            return
        with open(config_file, encoding="utf-8") as fh:
            config = json.load(fh)
        self.username = str(config["username"])
        self.password = str(config["password"])
        self.issuer = str(config["issuer"])
        self.service = str(config["service"])
        self.kid = str(config["kid"])
        with open(config["keyFile"], "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{config['keyFile']}: not an EC private key")
        self.key = key
        self.registries = [Registry(str(r["name"]), str(r["host"]), str(r["auth"]), r.get("realm"))
                           for r in config["registries"]]

    def listing(self) -> dict[str, Any]:
        return {"registries": [r.as_json(self.username, self.password) for r in self.registries]}

    # -- R28: the token realm --------------------------------------------------------------------------
    def token(self, authorization: str, query_string: str) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """(status, JSON body, extra headers) of `GET /_gantry/registry/token?<query_string>`."""
        if self.key is None:
            raise ControlError(404, "the sandbox runs no token registry",
                               "start the sandbox through gantry (gantry sandbox start), which starts the registries")
        challenge = [("WWW-Authenticate", 'Basic realm="gantry-sandbox registry token"')]
        user = self._basic_user(authorization)
        if user is None:
            return 401, {"error": "the sandbox registry credentials are required",
                         "hint": "send HTTP Basic credentials: gantry sandbox status --json lists them"}, challenge
        query = parse_qs(query_string)
        service = (query.get("service") or [self.service])[0]
        if service != self.service:
            raise ControlError(400, f"unknown service '{service}'", f"this realm issues tokens for '{self.service}'")
        access = []
        for scope in (s for value in query.get("scope", []) for s in value.split(" ") if s):
            parts = scope.split(":")
            if len(parts) < 3:
                raise ControlError(400, f"invalid scope '{scope}'", "use repository:<name>:<actions>")
            actions = sorted({a for a in parts[-1].split(",") if a in _ACTIONS})
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": actions})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user, "aud": service, "iat": now, "nbf": now - 1,
                  "exp": now + TOKEN_SECONDS, "jti": secrets.token_hex(8), "access": access}
        token = self._sign(claims)
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return 200, {"token": token, "access_token": token, "expires_in": TOKEN_SECONDS, "issued_at": issued}, []

    def _basic_user(self, authorization: str) -> str | None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except ValueError:
            return None
        same = secrets.compare_digest(user, self.username) and secrets.compare_digest(password, self.password)
        return user if same else None

    def _sign(self, claims: dict[str, Any]) -> str:
        assert self.key is not None
        header = {"alg": "ES256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64url(_canonical(header))}.{_b64url(_canonical(claims))}".encode()
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return f"{signing_input.decode()}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    # -- R29: publishing -----------------------------------------------------------------------------
    def publish(self, body: dict[str, Any]) -> list[Published]:
        """Push an image per tag of `body` (`image`, `tags`, optional `platforms`) to its registry."""
        image = body.get("image")
        if not isinstance(image, str) or "/" not in image:
            raise ControlError(400, "'image' must be <registry host>/<name>", '{"image": "127.0.0.1:5000/org/api"}')
        host, name = image.split("/", 1)
        registry = next((r for r in self.registries if r.host == host), None)
        if registry is None:
            known = ", ".join(r.host for r in self.registries) or "none (the sandbox was started without them)"
            raise ControlError(400, f"{host} is not a sandbox registry",
                               f"publish to one of the sandbox's registries: {known}")
        if not _NAME.match(name):
            raise ControlError(400, f"invalid image name '{name}'", "use lowercase path components, e.g. org/api")
        tags = body.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and _TAG.match(t) for t in tags):
            raise ControlError(400, "'tags' must be a non-empty list of image tags", '{"tags": ["v1.0.0"]}')
        platforms = body.get("platforms")
        if platforms is not None and (not isinstance(platforms, list) or not platforms
                                      or not all(isinstance(p, str) and _PLATFORM.match(p) for p in platforms)):
            raise ControlError(400, "'platforms' must be a non-empty list of os/arch[/variant]",
                               '{"platforms": ["linux/arm64"]}')
        client = _Client(registry.host, self.username, self.password)
        out = []
        for tag in tags:
            try:
                digest = _push(client, name, tag, platforms)
            except (OSError, http.client.HTTPException) as exc:
                raise ControlError(502, f"the registry at {registry.host} did not answer: {exc}",
                                   "gantry sandbox status (are the registries running?)") from exc
            out.append(Published(image, tag, digest, f"{image}@{digest}"))
        return out


# -- images ------------------------------------------------------------------------------------------
def _layer(tag: str) -> tuple[bytes, bytes]:
    """(gzip blob, uncompressed tar) of a layer holding /VERSION = the tag; byte-for-byte reproducible."""
    data = f"{tag}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("VERSION")
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), raw.getvalue()


def _image(name: str, tag: str, platform: str) -> tuple[dict[str, bytes], bytes]:
    """(blobs by digest, manifest) of one single-platform image."""
    os_name, arch, *variant = platform.split("/")
    layer, tar = _layer(tag)
    config: dict[str, Any] = {"architecture": arch, "os": os_name,
                              "config": {"Labels": {"org.opencontainers.image.version": tag}},
                              "rootfs": {"type": "layers", "diff_ids": [_sha(tar)]}}
    if variant:
        config["variant"] = variant[0]
    config_blob = _canonical(config)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": _sha(config_blob), "size": len(config_blob)},
                "layers": [{"mediaType": OCI_LAYER, "digest": _sha(layer), "size": len(layer)}],
                "annotations": {"org.opencontainers.image.version": tag, "org.opencontainers.image.title": name}}
    return {_sha(config_blob): config_blob, _sha(layer): layer}, _canonical(manifest)


def _push(client: _Client, name: str, tag: str, platforms: list[str] | None) -> str:
    """Push the image (an index of one manifest per platform when `platforms` is given); its digest."""
    if platforms is None:
        blobs, manifest = _image(name, tag, DEFAULT_PLATFORM)
        for digest, blob in blobs.items():
            client.push_blob(name, digest, blob)
        return client.put_manifest(name, tag, OCI_MANIFEST, manifest)
    entries = []
    for platform in platforms:
        blobs, manifest = _image(name, tag, platform)
        for digest, blob in blobs.items():
            client.push_blob(name, digest, blob)
        digest = client.put_manifest(name, _sha(manifest), OCI_MANIFEST, manifest)
        os_name, arch, *variant = platform.split("/")
        entry: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest),
                                 "platform": {"architecture": arch, "os": os_name}}
        if variant:
            entry["platform"]["variant"] = variant[0]
        entries.append(entry)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries,
             "annotations": {"org.opencontainers.image.version": tag}}
    return client.put_manifest(name, tag, OCI_INDEX, _canonical(index))


class _Client:
    """Just enough of the distribution API to push, authenticating as the registry asks (Basic or Bearer)."""

    def __init__(self, host: str, username: str, password: str) -> None:
        self.host = host
        self.basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.authorization: str | None = None

    def push_blob(self, name: str, digest: str, blob: bytes) -> None:
        status, _, _ = self._call("HEAD", f"/v2/{name}/blobs/{digest}")
        if status == 200:
            return
        status, headers, text = self._call("POST", f"/v2/{name}/blobs/uploads/", b"")
        self._expect(status, 202, f"start an upload to {name}", text)
        location = urljoin(f"http://{self.host}/v2/{name}/blobs/uploads/", headers.get("location", ""))
        split = urlsplit(location)
        target = f"{split.path}?{split.query + '&' if split.query else ''}{urlencode({'digest': digest})}"
        status, _, text = self._call("PUT", target, blob, "application/octet-stream")
        self._expect(status, 201, f"upload {digest} to {name}", text)

    def put_manifest(self, name: str, reference: str, media_type: str, manifest: bytes) -> str:
        status, headers, text = self._call("PUT", f"/v2/{name}/manifests/{reference}", manifest, media_type)
        self._expect(status, 201, f"put the manifest {name}:{reference}", text)
        digest = headers.get("docker-content-digest") or _sha(manifest)
        if digest != _sha(manifest):
            raise ControlError(502, f"the registry at {self.host} stored {name}:{reference} as {digest}, "
                                    f"not {_sha(manifest)}", "see the registry's log under the sandbox folder")
        return digest

    def _expect(self, status: int, want: int, what: str, text: str) -> None:
        if status != want:
            raise ControlError(502, f"the registry at {self.host} refused to {what}: HTTP {status} {text[:200]}",
                               "see the registry's log under the sandbox folder")

    def _call(self, method: str, path: str, body: bytes | None = None,
              content_type: str | None = None) -> tuple[int, dict[str, str], str]:
        for attempt in range(3):
            status, headers, text = self._send(method, path, body, content_type)
            if status != 401 or attempt == 2:
                return status, headers, text
            self.authorization = self._authorize(headers.get("www-authenticate", ""))
        raise AssertionError("unreachable")

    def _authorize(self, challenge: str) -> str:
        scheme = challenge.split(" ", 1)[0].lower()
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if scheme == "basic":
            return self.basic
        if scheme == "bearer" and params.get("realm"):
            realm = urlsplit(params["realm"])
            query = urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
            conn = http.client.HTTPConnection(realm.netloc, timeout=REQUEST_SECONDS)
            try:
                conn.request("GET", f"{realm.path}?{query}", headers={"Authorization": self.basic})
                res = conn.getresponse()
                text = res.read().decode("utf-8", "replace")
            finally:
                conn.close()
            self._expect(res.status, 200, f"issue a token at {params['realm']}", text)
            answer = json.loads(text)
            return "Bearer " + str(answer.get("token") or answer.get("access_token"))
        raise ControlError(502, f"the registry at {self.host} asks for '{challenge}'", "use a sandbox registry")

    def _send(self, method: str, path: str, body: bytes | None,
              content_type: str | None) -> tuple[int, dict[str, str], str]:
        headers = {"Content-Length": str(len(body or b""))} if method in ("POST", "PUT") else {}
        if content_type:
            headers["Content-Type"] = content_type
        if self.authorization:
            headers["Authorization"] = self.authorization
        conn = http.client.HTTPConnection(self.host, timeout=REQUEST_SECONDS)
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            text = res.read().decode("utf-8", "replace")
            return res.status, {k.lower(): v for k, v in res.getheaders()}, text
        finally:
            conn.close()
