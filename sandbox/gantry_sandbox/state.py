"""Control-plane state set through /_gantry/: speeds, faults, task rules, published images.

Plain data; callers hold the engine lock.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

class ControlError(Exception):
    """A control-API error: HTTP status, what went wrong, what to do about it."""

    def __init__(self, status: int, error: str, hint: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.hint = hint


FAULT_KINDS = ("migration", "rollout", "health", "wrong-version", "alarm", "slow")

#: Delay of a `slow` fault without `delaySeconds` (SPEC R22b).
DEFAULT_SLOW_SECONDS = 1.0


def to_datetime(ts: float) -> datetime:
    """Epoch seconds -> naive UTC datetime, the form moto's models use."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


@dataclass
class Speeds:
    rollout: float = 6.0
    snapshot: float = 3.0
    task: float = 2.0

    def as_json(self) -> dict[str, float]:
        return {
            "rolloutSeconds": self.rollout,
            "snapshotSeconds": self.snapshot,
            "taskSeconds": self.task,
        }


def repository_of(image: str) -> str:
    """The repository path of an image reference: no registry host, tag or digest (R13)."""
    name = image.split("@", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    last = parts[-1].rsplit(":", 1)[0] if parts else ""
    return "/".join([*parts[:-1], last])


@dataclass
class Fault:
    tag: str
    kind: str
    alarm_name: str | None
    created_at: float
    delay_seconds: float | None = None  # `slow` only (R22b); None = DEFAULT_SLOW_SECONDS
    repository: str | None = None  # only images of this repository (R13); None = every image

    def applies_to(self, image: str) -> bool:
        return self.repository is None or repository_of(image) == self.repository

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tag": self.tag, "kind": self.kind}
        if self.alarm_name:
            out["alarmName"] = self.alarm_name
        if self.delay_seconds is not None:
            out["delaySeconds"] = self.delay_seconds
        if self.repository is not None:
            out["repository"] = self.repository
        return out


@dataclass
class TaskRule:
    exit_code: int
    image: str | None = None
    command_contains: str | None = None

    def matches(self, tag: str, image: str, command: str) -> bool:
        if self.image is not None and not (
            fnmatch.fnmatchcase(tag, self.image) or fnmatch.fnmatchcase(image, self.image)
        ):
            return False
        if self.command_contains is not None and self.command_contains not in command:
            return False
        return True

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exitCode": self.exit_code}
        if self.image is not None:
            out["image"] = self.image
        if self.command_contains is not None:
            out["commandContains"] = self.command_contains
        return out


@dataclass
class PublishedImage:
    region: str
    repository: str
    tag: str
    digest: str
    uri: str


@dataclass
class ControlState:
    faults: list[Fault] = field(default_factory=list)
    rules: list[TaskRule] = field(default_factory=list)
    images: list[PublishedImage] = field(default_factory=list)

    # -- faults ---------------------------------------------------------------
    def add_fault(self, tag: str, kind: str, alarm_name: str | None, now: float,
                  delay_seconds: float | None = None, repository: str | None = None) -> None:
        for f in self.faults:
            if f.tag == tag and f.kind == kind and f.alarm_name == alarm_name and f.repository == repository:
                f.delay_seconds = delay_seconds  # a `slow` fault posted again takes the new delay
                return
        self.faults.append(Fault(tag, kind, alarm_name, now, delay_seconds, repository))

    def clear_faults(self, tag: str | None) -> None:
        self.faults = [f for f in self.faults if tag is not None and f.tag != tag]

    def faults_for(self, tag: str, kind: str, image: str) -> list[Fault]:
        return [f for f in self.faults if f.tag == tag and f.kind == kind and f.applies_to(image)]

    def has_fault(self, tag: str, kind: str, image: str) -> bool:
        return bool(self.faults_for(tag, kind, image))

    def slow_seconds(self, tag: str, image: str) -> float:
        """Extra delay of the tag's health answers (R22b): 0 without a `slow` fault."""
        return max(
            (f.delay_seconds or DEFAULT_SLOW_SECONDS for f in self.faults_for(tag, "slow", image)), default=0.0
        )

    # -- task rules -------------------------------------------------------------
    def exit_code_for(self, tag: str, image: str, command: str) -> int:
        for rule in self.rules:
            if rule.matches(tag, image, command):
                return rule.exit_code
        return 1 if self.has_fault(tag, "migration", image) else 0

    # -- images -------------------------------------------------------------------
    def find_image(self, region: str, repository: str, tag: str) -> PublishedImage | None:
        for img in self.images:
            if (img.region, img.repository, img.tag) == (region, repository, tag):
                return img
        return None

    def tag_for_digest(self, digest: str) -> str | None:
        for img in self.images:
            if img.digest == digest:
                return img.tag
        return None

    def image_tag(self, image: str) -> str:
        """The tag an image reference stands for (SPEC R12)."""
        if "@" in image:
            digest = image.split("@", 1)[1]
            return self.tag_for_digest(digest) or digest
        last = image.rsplit("/", 1)[-1]
        if ":" in last:
            return last.split(":", 1)[1]
        return "latest"


def dump(items: list[Any]) -> list[dict[str, Any]]:
    return [i.as_json() if hasattr(i, "as_json") else asdict(i) for i in items]
