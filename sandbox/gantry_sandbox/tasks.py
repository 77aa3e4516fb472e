"""Task timelines (service tasks and RunTask tasks) and how they are written into moto's Task.

A TaskPlan holds the instants of a task's life; its state at any time t is a pure function
of those instants (SPEC R16–R21).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .state import to_datetime

STOP_ESSENTIAL = "EssentialContainerExited"
STOP_USER = "UserInitiated"
STOP_SCHEDULER = "ServiceSchedulerInitiated"
REASON_ESSENTIAL = "Essential container in task exited"


@dataclass
class LogTarget:
    account: str
    region: str
    group: str
    stream: str


@dataclass
class TaskPlan:
    task_id: str
    launch_at: float
    pending_at: float  # PROVISIONING before this, PENDING after
    running_at: float
    healthy_at: float | None = None  # target leaves `initial`; None = never
    stop_at: float | None = None
    drain_at: float | None = None
    exit_code: int | None = None
    stop_code: str = ""
    stopped_reason: str = ""
    command: str = ""
    log: LogTarget | None = None
    stopped_by_user: bool = False
    settled: bool = False  # STOPPED state already written to moto; nothing left to do
    ip: str = ""
    task: Any = None  # the materialized moto Task
    logged: set[str] = field(default_factory=set)

    # -- state at time t ---------------------------------------------------------
    def launched(self, t: float) -> bool:
        return t >= self.launch_at

    def stopped(self, t: float) -> bool:
        return self.stop_at is not None and t >= self.stop_at

    def running(self, t: float) -> bool:
        return t >= self.running_at and not self.stopped(t)

    def pending(self, t: float) -> bool:
        return self.launched(t) and t < self.running_at and not self.stopped(t)

    def draining(self, t: float) -> bool:
        return self.drain_at is not None and t >= self.drain_at and self.running(t)

    def last_status(self, t: float) -> str:
        if self.stopped(t):
            return "STOPPED"
        if t >= self.running_at:
            return "RUNNING"
        if t >= self.pending_at:
            return "PENDING"
        return "PROVISIONING"

    def target_state(self, t: float, health_fault: bool) -> tuple[str, str | None, str | None] | None:
        """ELB target (State, Reason, Description) at t, or None when not registered (R21)."""
        if not self.running(t):
            return None
        if self.draining(t):
            return ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
        if self.healthy_at is None or t < self.healthy_at:
            return ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
        if health_fault:
            return (
                "unhealthy",
                "Target.ResponseCodeMismatch",
                "Health checks failed with these codes: [500]",
            )
        return ("healthy", None, None)

    # -- changes -------------------------------------------------------------------
    def stop(self, at: float, code: str, reason: str, exit_code: int | None) -> None:
        """Stop at `at` unless the task already stops earlier."""
        if self.stop_at is not None and self.stop_at <= at:
            return
        self.stop_at = max(at, self.launch_at)
        self.stop_code = code
        self.stopped_reason = reason
        self.exit_code = exit_code if at >= self.running_at else None

    def drain(self, now: float, at: float, stop_at: float, deployment_id: str) -> None:
        """Drain from `at`, stop at `stop_at` (R16). A drain or stop that an earlier, now superseded
        deployment scheduled after `now` is replaced: the newest deployment's schedule counts."""
        if self.drain_at is not None and self.drain_at > now:
            self.drain_at = None
        if self.stop_at is not None and self.stop_at > now and self.stop_code == STOP_SCHEDULER:
            self.stop_at = None
        if self.drain_at is None or at < self.drain_at:
            self.drain_at = at
        self.stop(stop_at, STOP_SCHEDULER, f"Scaling activity initiated by (deployment {deployment_id})", 0)

    def finished(self, t: float) -> bool:
        """Nothing about this task can change any more."""
        return self.stopped(t) and (self.log is None or "stop" in self.logged)


def fake_ip(task_id: str) -> str:
    h = hashlib.sha256(task_id.encode()).digest()
    return f"10.0.{h[0]}.{max(h[1], 4)}"


def eni_ip(task: Any) -> str | None:
    for attachment in getattr(task, "attachments", []) or []:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return str(detail["value"])
    return None


def apply_to_moto(plan: TaskPlan, task: Any, t: float) -> None:
    """Write the plan's state at t into a moto ecs Task model."""
    status = plan.last_status(t)
    stopped = status == "STOPPED"
    task.last_status = status
    task.desired_status = "STOPPED" if stopped or plan.draining(t) else "RUNNING"
    task.created_at = to_datetime(plan.launch_at)
    pull_stop = plan.running_at - (plan.running_at - plan.pending_at) / 3
    task.pull_started_at = to_datetime(plan.pending_at) if t >= plan.pending_at else None
    task.pull_stopped_at = to_datetime(pull_stop) if t >= pull_stop and not (
        stopped and plan.stop_at is not None and plan.stop_at < pull_stop
    ) else None
    ran = t >= plan.running_at and (plan.stop_at is None or plan.stop_at >= plan.running_at)
    task.started_at = to_datetime(plan.running_at) if ran else None
    task.connectivity = "CONNECTED" if t >= plan.pending_at else None
    task.connectivity_at = to_datetime(plan.pending_at) if t >= plan.pending_at else None
    task.health_status = "UNKNOWN"
    if stopped:
        assert plan.stop_at is not None
        task.stopping_at = to_datetime(plan.drain_at if plan.drain_at is not None else plan.stop_at)
        task.execution_stopped_at = to_datetime(plan.stop_at)
        task.stopped_at = to_datetime(plan.stop_at)
        task.stop_code = plan.stop_code
        task.stopped_reason = plan.stopped_reason
    else:
        task.stopping_at = to_datetime(plan.drain_at) if plan.drain_at is not None and plan.draining(t) else None
        task.execution_stopped_at = None
        task.stopped_at = None
        task.stop_code = None
        task.stopped_reason = None
    for container in task.containers:
        container.task_arn = task.task_arn
        container.last_status = "PENDING" if status == "PROVISIONING" else status
        container.exitCode = plan.exit_code if stopped else None
        container.health_status = "UNKNOWN"


def write_logs(plan: TaskPlan, t: float, logs_backends: Any) -> None:
    """Emit the task's log lines whose instant has passed (R19b)."""
    if plan.log is None:
        return
    lines: list[tuple[str, float, str]] = []
    if t >= plan.running_at and "run" not in plan.logged and not (
        plan.stop_at is not None and plan.stop_at < plan.running_at
    ):
        lines.append(("run", plan.running_at, f"running: {plan.command}"))
    if plan.stopped(t) and "stop" not in plan.logged:
        assert plan.stop_at is not None
        if plan.stopped_by_user:
            msg = f"stopped: {plan.stopped_reason}"
        elif plan.exit_code:
            msg = f"ERROR: command failed with exit code {plan.exit_code}"
        else:
            msg = f"exited: exit code {plan.exit_code or 0}"
        lines.append(("stop", plan.stop_at, msg))
    if not lines:
        return
    target = plan.log
    backend = logs_backends[target.account][target.region]
    if target.group not in backend.groups:
        backend.create_log_group(target.group, tags={})
    group = backend.groups[target.group]
    if target.stream not in group.streams:
        backend.create_log_stream(target.group, target.stream)
    events = [{"timestamp": int(at * 1000), "message": msg} for _, at, msg in lines]
    backend.put_log_events(target.group, target.stream, events)
    for key, _, _ in lines:
        plan.logged.add(key)
    if "stop" in plan.logged:
        plan.logged.add("run")
