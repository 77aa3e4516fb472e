"""ECS service deployments: timelines (SPEC R16–R18, R25) and their materialization into moto.

All instants are computed from a deployment's creation instant `c` and its rollout
duration `R`, so the outcome does not depend on when requests arrive.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from .state import to_datetime
from .tasks import (
    REASON_ESSENTIAL,
    STOP_ESSENTIAL,
    STOP_SCHEDULER,
    TaskPlan,
    apply_to_moto,
    eni_ip,
    fake_ip,
)

# Fractions of R (see SPEC R16, R16b).
RUN_START, RUN_SPREAD = 0.1, 0.2  # task i RUNNING at c + R*(0.1 + 0.2*(i+1)/N)
HEALTHY_AFTER = 0.2  # target initial -> healthy
REGISTERED_AT = 0.3
DRAIN_AT = 0.5
DRAIN_SPREAD = 0.3  # old task j stops at c + R*(0.5 + 0.3*(j+1)/M)
ATTEMPT_EVERY, ATTEMPT_RUN, ATTEMPT_STOP, ATTEMPTS = 0.3, 0.1, 0.2, 3
REASON_FAILED = "ECS deployment circuit breaker: tasks failed to start."
MAX_EVENTS = 100


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


@dataclass
class Message:
    at: float
    seq: int
    deployment_id: str
    text: str


@dataclass
class DeploymentSim:
    id: str
    task_definition: str
    image: str
    tag: str
    desired: int
    created: float
    duration: float
    rollout_fault: bool = False
    state: str = "IN_PROGRESS"  # COMPLETED | FAILED
    reason: str | None = None  # rolloutStateReason override while IN_PROGRESS
    finished_at: float | None = None
    tasks: list[TaskPlan] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.created + self.duration

    def running_count(self, t: float) -> int:
        return sum(1 for p in self.tasks if p.running(t))

    def pending_count(self, t: float) -> int:
        return sum(1 for p in self.tasks if p.pending(t))

    def failed_count(self, t: float) -> int:
        return sum(1 for p in self.tasks if p.stopped(t) and p.stop_code == STOP_ESSENTIAL)

    def rollout_reason(self) -> str:
        if self.state == "COMPLETED":
            return f"ECS deployment {self.id} completed."
        if self.state == "FAILED":
            return REASON_FAILED
        return self.reason or f"ECS deployment {self.id} in progress."

    def stop_all(self, at: float, reason: str) -> None:
        """Stop every task at `at`; tasks not launched yet are dropped."""
        self.tasks = [p for p in self.tasks if p.launch_at <= at]
        for p in self.tasks:
            p.stop(at, STOP_SCHEDULER, reason, 0)


@dataclass
class ServiceSim:
    account: str
    region: str
    cluster: str
    name: str
    service: Any  # moto ecs Service
    backend: Any  # moto EC2ContainerServiceBackend
    deployments: list[DeploymentSim] = field(default_factory=list)  # listed, newest first
    history: list[DeploymentSim] = field(default_factory=list)  # every deployment, oldest first
    last_completed: DeploymentSim | None = None
    messages: list[Message] = field(default_factory=list)
    created: float = 0.0
    deleted: bool = False
    _seq: int = 0

    # -- helpers ----------------------------------------------------------------
    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account, self.region, self.cluster, self.name)

    @property
    def target_groups(self) -> list[str]:
        return [lb["targetGroupArn"] for lb in self.service.load_balancers or [] if lb.get("targetGroupArn")]

    @property
    def container_port(self) -> int:
        for lb in self.service.load_balancers or []:
            if lb.get("containerPort"):
                return int(lb["containerPort"])
        return 80

    def rollback_enabled(self) -> bool:
        cfg = getattr(self.service, "deployment_configuration", None) or {}
        return bool((cfg.get("deploymentCircuitBreaker") or {}).get("rollback"))

    def say(self, at: float, deployment: DeploymentSim, text: str) -> None:
        self._seq += 1
        self.messages.append(Message(at, self._seq, deployment.id, f"(service {self.name}) {text}"))

    def drop_messages_after(self, deployment: DeploymentSim, at: float) -> None:
        self.messages = [m for m in self.messages if not (m.deployment_id == deployment.id and m.at > at)]

    def all_plans(self) -> list[tuple[DeploymentSim, TaskPlan]]:
        return [(d, p) for d in self.history for p in d.tasks]

    @staticmethod
    def task_list(plans: list[TaskPlan]) -> str:
        return " ".join(f"(task {p.task_id})" for p in plans)


# -- deployment lifecycle ------------------------------------------------------------
def start_initial(sim: ServiceSim, deployment: DeploymentSim) -> None:
    """R17: the service's first deployment is COMPLETED with its tasks RUNNING at once."""
    c = deployment.created
    deployment.tasks = [
        TaskPlan(str(uuid.uuid4()), c, c, c, healthy_at=c) for _ in range(deployment.desired)
    ]
    deployment.state, deployment.finished_at = "COMPLETED", c
    sim.deployments.insert(0, deployment)
    sim.history.append(deployment)
    sim.last_completed = deployment
    sim.service.task_definition = deployment.task_definition
    if deployment.tasks:
        sim.say(c, deployment, f"has started {len(deployment.tasks)} tasks: {sim.task_list(deployment.tasks)}.")
    sim.say(c, deployment, "has reached a steady state.")


def start_deployment(sim: ServiceSim, d: DeploymentSim, keep: list[DeploymentSim] | None = None) -> None:
    """R16: a new PRIMARY deployment `d` created at d.created replaces the listed ones."""
    c, R, n = d.created, d.duration, d.desired
    keep = keep or []
    candidates = [x for x in sim.deployments if x not in keep]
    drained: DeploymentSim | None = None
    best = 0
    for x in candidates:  # newest first, so ties go to the newest
        count = x.running_count(c)
        if count > best:
            drained, best = x, count
    for x in candidates:
        sim.drop_messages_after(x, c)
        if x is drained:
            continue
        x.stop_all(c, f"Scaling activity initiated by (deployment {d.id})")
        sim.deployments.remove(x)

    if drained is not None:
        # Tasks of the drained deployment that are not RUNNING yet never will be.
        drained.tasks = [p for p in drained.tasks if p.launch_at <= c]
        for p in drained.tasks:
            if not p.running(c) and not p.stopped(c):
                p.stop(c, STOP_SCHEDULER, f"Scaling activity initiated by (deployment {d.id})", None)

    if d.rollout_fault:
        for k in range(ATTEMPTS):
            launch = c + ATTEMPT_EVERY * k * R
            attempt = []
            for _ in range(n):
                p = TaskPlan(str(uuid.uuid4()), launch, launch, launch + ATTEMPT_RUN * R)
                p.stop(launch + ATTEMPT_STOP * R, STOP_ESSENTIAL, REASON_ESSENTIAL, 1)
                attempt.append(p)
            d.tasks.extend(attempt)
            if attempt:
                sim.say(launch, d, f"has started {n} tasks: {sim.task_list(attempt)}.")
                sim.say(launch + ATTEMPT_STOP * R, d, f"has stopped {n} running tasks: {sim.task_list(attempt)}.")
    else:
        for i in range(n):
            running = c + R * (RUN_START + RUN_SPREAD * (i + 1) / n)
            d.tasks.append(TaskPlan(str(uuid.uuid4()), c, c, running, healthy_at=running + HEALTHY_AFTER * R))
        if n:
            sim.say(c, d, f"has started {n} tasks: {sim.task_list(d.tasks)}.")
            for tg in sim.target_groups:
                sim.say(c + REGISTERED_AT * R, d, f"registered {n} targets in (target-group {tg})")
        if drained is not None:
            old = sorted((p for p in drained.tasks if p.running(c)), key=lambda p: (p.running_at, p.launch_at))
            m = len(old)
            for j, p in enumerate(old):
                p.drain(c, c + DRAIN_AT * R, c + R * (DRAIN_AT + DRAIN_SPREAD * (j + 1) / m), d.id)
            if m:
                sim.say(c + DRAIN_AT * R, d, f"has begun draining connections on {m} tasks.")
                for tg in sim.target_groups:
                    sim.say(c + DRAIN_AT * R, d, f"deregistered {m} targets in (target-group {tg})")
                sim.say(c + (DRAIN_AT + DRAIN_SPREAD) * R, d, f"has stopped {m} running tasks: {sim.task_list(old)}.")

    sim.deployments.insert(0, d)
    sim.history.append(d)
    sim.service.task_definition = d.task_definition


def scale_primary(sim: ServiceSim, desired: int, now: float, rollout: float) -> None:
    """R18: desiredCount change without a new deployment."""
    if not sim.deployments:
        return
    d = sim.deployments[0]
    d.desired = desired
    if d.state != "COMPLETED":
        return
    alive = [p for p in d.tasks if not p.stopped(now)]
    if desired > len(alive):
        added = []
        for _ in range(desired - len(alive)):
            running = now + HEALTHY_AFTER * rollout
            added.append(TaskPlan(str(uuid.uuid4()), now, now, running, healthy_at=running + HEALTHY_AFTER * rollout))
        d.tasks.extend(added)
        sim.say(now, d, f"has started {len(added)} tasks: {sim.task_list(added)}.")
    elif desired < len(alive):
        surplus = sorted(alive, key=lambda p: p.launch_at, reverse=True)[: len(alive) - desired]
        for p in surplus:
            p.stop(now, STOP_SCHEDULER, f"Scaling activity initiated by (deployment {d.id})", 0)
        sim.say(now, d, f"has stopped {len(surplus)} running tasks: {sim.task_list(surplus)}.")


def advance(sim: ServiceSim, now: float) -> None:
    """Process the PRIMARY deployment's deadline(s) up to `now` (completion or failure)."""
    while sim.deployments and not sim.deleted:
        d = sim.deployments[0]
        if d.state != "IN_PROGRESS" or d.deadline > now:
            return
        at = d.deadline
        d.finished_at = at
        if not d.rollout_fault:
            d.state = "COMPLETED"
            for other in sim.deployments[1:]:
                other.stop_all(at, f"Scaling activity initiated by (deployment {d.id})")
            sim.deployments = [d]
            sim.last_completed = d
            sim.say(at, d, f"(deployment {d.id}) deployment completed.")
            sim.say(at, d, "has reached a steady state.")
            continue
        d.state = "FAILED"
        sim.say(at, d, f"(deployment {d.id}) deployment failed: tasks failed to start.")
        target = sim.last_completed
        if not sim.rollback_enabled() or target is None:
            return
        rollback = DeploymentSim(
            id=new_deployment_id(),
            task_definition=target.task_definition,
            image=target.image,
            tag=target.tag,
            desired=sim.service.desired_count,
            created=at,
            duration=d.duration,
            reason=f"ECS deployment circuit breaker: rolling back to deploymentId {target.id}.",
        )
        sim.say(at, d, f"rolling back to deployment {target.id}.")
        start_deployment(sim, rollback, keep=[d])


# -- materialization into moto ---------------------------------------------------------
def _create_moto_task(sim: ServiceSim, d: DeploymentSim, plan: TaskPlan) -> None:
    from moto.ecs.models import Task

    backend = sim.backend
    try:
        cluster = backend.clusters[sim.cluster]
        task_def = backend.describe_task_definition(d.task_definition)
        network = getattr(sim.service, "network_configuration", None) or None
        task = Task(
            cluster=cluster,
            task_definition=task_def,
            container_instance_arn=None,
            resource_requirements=None,
            backend=backend,
            group=f"service:{sim.name}",
            launch_type=sim.service.launch_type or "FARGATE",
            overrides={},
            started_by=d.id,
            networking_configuration=network,
            platform_version=getattr(sim.service, "platform_version", None) or "1.4.0",
        )
    except Exception:  # e.g. no network configuration for an awsvpc task definition
        plan.ip = plan.ip or fake_ip(plan.task_id)
        plan.task = False  # do not retry
        return
    task.id = plan.task_id
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    plan.task = task
    plan.ip = eni_ip(task) or fake_ip(plan.task_id)


def materialize(sim: ServiceSim, now: float) -> None:
    """Write the service's state at `now` into moto's Service and Task models."""
    for d, plan in sim.all_plans():
        if plan.settled:
            continue
        if plan.task is None and plan.launched(now) and not sim.deleted:
            _create_moto_task(sim, d, plan)
        if plan.task:
            apply_to_moto(plan, plan.task, now)
        plan.settled = plan.stopped(now)
    svc = sim.service
    deployments = []
    for i, d in enumerate(sim.deployments):
        updated = d.finished_at if d.finished_at is not None and d.finished_at <= now else d.created
        deployments.append(
            {
                "id": d.id,
                "status": "PRIMARY" if i == 0 else "ACTIVE",
                "taskDefinition": d.task_definition,
                "desiredCount": d.desired,
                "pendingCount": d.pending_count(now),
                "runningCount": d.running_count(now),
                "failedTasks": d.failed_count(now),
                "createdAt": to_datetime(d.created),
                "updatedAt": to_datetime(updated),
                "launchType": svc.launch_type,
                "platformVersion": getattr(svc, "platform_version", None) or "1.4.0",
                "platformFamily": "Linux",
                "networkConfiguration": getattr(svc, "network_configuration", None) or None,
                "rolloutState": d.state,
                "rolloutStateReason": d.rollout_reason(),
            }
        )
    svc.deployments = deployments
    svc.running_count = sum(d["runningCount"] for d in deployments)
    svc.pending_count = sum(d["pendingCount"] for d in deployments)
    visible = sorted((m for m in sim.messages if m.at <= now), key=lambda m: (m.at, m.seq), reverse=True)
    svc.events = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sim.name}/{m.seq}")),
            "createdAt": to_datetime(m.at),
            "message": m.text,
        }
        for m in visible[:MAX_EVENTS]
    ]
