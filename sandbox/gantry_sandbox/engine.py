"""The behaviour engine: owns all emulated dynamics and writes them into moto's models.

Every AWS request runs `sync(now)` under `lock` before moto handles it, so what moto
returns reflects the state at that instant (SPEC R16a). Hooks (hooks.py) call the `on_*`
methods right after moto has handled the matching operation.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from . import ecs_sim
from .ecs_sim import DeploymentSim, ServiceSim
from .state import ControlState, Speeds, to_datetime
from .tasks import REASON_ESSENTIAL, STOP_ESSENTIAL, STOP_USER, LogTarget, TaskPlan, apply_to_moto, write_logs


@dataclass
class SnapshotPlan:
    snapshot: Any  # moto rds DBSnapshot
    created: float
    duration: float


@dataclass
class StandaloneTask:
    plan: TaskPlan
    task: Any  # moto ecs Task


FINISHED_PLANS_KEPT = 1000


class Engine:
    def __init__(self, speeds: Speeds) -> None:
        self.lock = threading.RLock()
        self.initial_speeds = Speeds(speeds.rollout, speeds.snapshot, speeds.task)
        self.speeds = Speeds(speeds.rollout, speeds.snapshot, speeds.task)
        self.control = ControlState()
        self.services: dict[tuple[str, str, str, str], ServiceSim] = {}
        self.standalone: list[StandaloneTask] = []
        # Plans of standalone tasks that can no longer change, kept so a late StopTask can restore
        # their final state over what moto's own StopTask wrote (R20). Bounded: oldest dropped.
        self.finished_plans: dict[str, TaskPlan] = {}
        self.snapshots: list[SnapshotPlan] = []
        # (account, region, alarm name) of alarms provisioned via /_gantry/resources/alarm
        self.provisioned_alarms: set[tuple[str, str, str]] = set()
        # alarms the engine has put into ALARM
        self.alarmed: set[tuple[str, str, str]] = set()

    def reset(self) -> None:
        self.speeds = Speeds(self.initial_speeds.rollout, self.initial_speeds.snapshot, self.initial_speeds.task)
        self.control = ControlState()
        self.services.clear()
        self.standalone.clear()
        self.finished_plans.clear()
        self.snapshots.clear()
        self.provisioned_alarms.clear()
        self.alarmed.clear()

    # -- periodic catch-up -----------------------------------------------------------
    def sync(self, now: float) -> None:
        from moto.logs.models import logs_backends

        for sim in list(self.services.values()):
            ecs_sim.advance(sim, now)
            ecs_sim.materialize(sim, now)
            if sim.deleted and all(p.settled for _, p in sim.all_plans()):
                self.services.pop(sim.key, None)
        still_running = []
        for st in self.standalone:
            apply_to_moto(st.plan, st.task, now)
            try:
                write_logs(st.plan, now, logs_backends)
            except Exception:  # e.g. an invalid log group name: report once, keep serving
                traceback.print_exc(file=sys.stderr)
                st.plan.logged.update({"run", "stop"})
            if not st.plan.finished(now):
                still_running.append(st)
            else:
                self.finished_plans[st.plan.task_id] = st.plan
                while len(self.finished_plans) > FINISHED_PLANS_KEPT:
                    self.finished_plans.pop(next(iter(self.finished_plans)))
        self.standalone = still_running
        self.snapshots = [s for s in self.snapshots if not self._apply_snapshot(s, now)]
        self._sync_alarms(now)

    # -- ECS services -------------------------------------------------------------------
    def _image_of(self, backend: Any, task_definition_arn: str) -> str:
        try:
            task_def = backend.describe_task_definition(task_definition_arn)
            return str(task_def.container_definitions[0].get("image", ""))
        except Exception:
            return ""

    def _new_deployment(self, sim: ServiceSim, task_definition_arn: str, desired: int, now: float,
                        deployment_id: str | None = None) -> DeploymentSim:
        image = self._image_of(sim.backend, task_definition_arn)
        tag = self.control.image_tag(image)
        return DeploymentSim(
            id=deployment_id or ecs_sim.new_deployment_id(),
            task_definition=task_definition_arn,
            image=image,
            tag=tag,
            desired=desired,
            created=now,
            duration=self.speeds.rollout,
            rollout_fault=self.control.has_fault(tag, "rollout", image),
        )

    def register_service(self, service: Any, backend: Any, account: str, region: str, now: float,
                         deployment_configuration: dict[str, Any] | None = None) -> ServiceSim:
        """R17: a created service starts with one COMPLETED deployment."""
        cfg = deployment_configuration or getattr(service, "deployment_configuration", None)
        service.deployment_configuration = cfg or {
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        }
        service.created_at = to_datetime(now)
        sim = ServiceSim(account, region, service.cluster_name, service.name, service, backend, created=now)
        old = self.services.get(sim.key)
        if old is not None:
            self._retire(old, now)
        self.services[sim.key] = sim
        initial_id = service.deployments[0]["id"] if service.deployments else None
        td = service.task_definition
        if td:
            d = self._new_deployment(sim, td, service.desired_count, now, initial_id)
            ecs_sim.start_initial(sim, d)
        ecs_sim.materialize(sim, now)
        return sim

    def find_service(self, account: str, region: str, service: Any) -> ServiceSim | None:
        sim = self.services.get((account, region, service.cluster_name, service.name))
        return sim if sim is not None and sim.service is service else None

    def on_update_service(self, sim: ServiceSim, previous_td: str | None, requested_td: str | None,
                          force: bool, desired: int | None, now: float) -> None:
        """R18/R16: start a deployment, or only apply a desiredCount change."""
        if desired is not None:
            sim.service.desired_count = desired
        new_td = requested_td or previous_td
        if new_td and (force or new_td != previous_td):
            d = self._new_deployment(sim, new_td, sim.service.desired_count, now)
            ecs_sim.start_deployment(sim, d)
        else:
            sim.service.task_definition = previous_td
            if desired is not None:
                ecs_sim.scale_primary(sim, desired, now, self.speeds.rollout)
        ecs_sim.materialize(sim, now)

    def _retire(self, sim: ServiceSim, now: float) -> None:
        for d in sim.deployments:
            d.stop_all(now, "Service deleted")
        sim.deployments = []
        sim.deleted = True
        ecs_sim.materialize(sim, now)
        sim.service.deployments = []
        sim.service.running_count = 0
        sim.service.pending_count = 0

    def on_delete_service(self, sim: ServiceSim, now: float) -> None:
        self._retire(sim, now)

    # -- standalone tasks ---------------------------------------------------------------
    def on_run_task(self, tasks: list[Any], backend: Any, account: str, region: str,
                    overrides: dict[str, Any] | None, now: float) -> None:
        """R19: a RunTask task's lifecycle and exit code."""
        T = self.speeds.task
        for task in tasks:
            task_def = backend.describe_task_definition(task.task_definition_arn)
            container = task_def.container_definitions[0]
            name = container.get("name", "")
            with_command = [o for o in (overrides or {}).get("containerOverrides") or [] if o.get("command") is not None]
            own = [o for o in with_command if o.get("name") in (None, name)]
            if own or with_command:
                command_list = (own or with_command)[0]["command"]
            else:
                command_list = container.get("command") or []
            command = " ".join(str(c) for c in command_list)
            image = str(container.get("image", ""))
            tag = self.control.image_tag(image)
            exit_code = self.control.exit_code_for(tag, image, command)
            plan = TaskPlan(
                task_id=task.id,
                launch_at=now,
                pending_at=now + 0.1 * T,
                running_at=now + 0.25 * T,
                command=command,
                log=self._log_target(container, account, region, task.id),
            )
            plan.stop(now + T, STOP_ESSENTIAL, REASON_ESSENTIAL, exit_code)
            plan.task = task
            self.standalone.append(StandaloneTask(plan, task))
            apply_to_moto(plan, task, now)

    @staticmethod
    def _log_target(container: dict[str, Any], account: str, region: str, task_id: str) -> LogTarget | None:
        cfg = container.get("logConfiguration") or {}
        options = cfg.get("options") or {}
        if cfg.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            return None
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{container.get('name', '')}/{task_id}" if prefix else task_id
        return LogTarget(account, options.get("awslogs-region") or region, options["awslogs-group"], stream)

    def find_task_plan(self, task_id: str) -> TaskPlan | None:
        for st in self.standalone:
            if st.plan.task_id == task_id:
                return st.plan
        if task_id in self.finished_plans:
            return self.finished_plans[task_id]
        for sim in self.services.values():
            for _, plan in sim.all_plans():
                if plan.task_id == task_id:
                    return plan
        return None

    def on_stop_task(self, task: Any, reason: str | None, now: float) -> None:
        """R20: StopTask stops a not-yet-stopped task at once."""
        plan = self.find_task_plan(task.id)
        if plan is None:
            return
        if not plan.stopped(now):
            was_running = plan.running(now)
            plan.stop(now, STOP_USER, reason or "Task stopped by user", 137 if was_running else None)
            plan.exit_code = 137 if was_running else None
            plan.stopped_by_user = True
            plan.settled = False
        apply_to_moto(plan, task, now)

    # -- target health and health endpoint -------------------------------------------------
    def target_health(self, target_group_arn: str, now: float) -> list[tuple[str, int, tuple[str, str | None, str | None]]] | None:
        """R21: (ip, port, (state, reason, description)) per registered target, or None."""
        sims = [s for s in self.services.values() if target_group_arn in s.target_groups and not s.deleted]
        if not sims:
            return None
        out = []
        for sim in sims:
            for d in reversed(sim.deployments):
                fault = self.control.has_fault(d.tag, "health", d.image)
                for plan in d.tasks:
                    state = plan.target_state(now, fault)
                    if state is not None:
                        out.append((plan.ip or "0.0.0.0", sim.container_port, state))
        return out

    def serving(self, sim: ServiceSim, now: float) -> DeploymentSim | None:
        """R22: the newest listed deployment with a target past registration."""
        for d in sim.deployments:
            fault = self.control.has_fault(d.tag, "health", d.image)
            for plan in d.tasks:
                state = plan.target_state(now, fault)
                if state is not None and state[0] in ("healthy", "unhealthy"):
                    return d
        return None

    def health_report(self, key: tuple[str, str, str, str], service_name: str, now: float) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"environment": "sandbox", "database": "healthy", "service": service_name}
        sim = self.services.get(key)
        d = self.serving(sim, now) if sim is not None and not sim.deleted else None
        if sim is None or d is None:
            return 503, {"status": "unavailable", "version": None, **body}
        version = d.tag
        if self.control.has_fault(d.tag, "wrong-version", d.image):
            earlier = [x for x in sim.history if x.created < d.created and x.tag != d.tag]
            version = earlier[-1].tag if earlier else f"{d.tag}-stale"
        if self.control.has_fault(d.tag, "health", d.image):
            return 500, {"status": "unhealthy", "version": version, **body}
        return 200, {"status": "healthy", "version": version, **body}

    def health_delay(self, key: tuple[str, str, str, str], now: float) -> float:
        """R22b: seconds to wait before answering, from a `slow` fault on the serving tag."""
        sim = self.services.get(key)
        d = self.serving(sim, now) if sim is not None and not sim.deleted else None
        return 0.0 if d is None else self.control.slow_seconds(d.tag, d.image)

    # -- RDS snapshots -------------------------------------------------------------------------
    def on_create_snapshot(self, snapshot: Any, now: float) -> None:
        plan = SnapshotPlan(snapshot, now, self.speeds.snapshot)
        if not self._apply_snapshot(plan, now):
            self.snapshots.append(plan)

    @staticmethod
    def _apply_snapshot(plan: SnapshotPlan, now: float) -> bool:
        """R23. Returns True once the snapshot is available (nothing left to do)."""
        elapsed = now - plan.created
        if elapsed >= plan.duration:
            plan.snapshot.status = "available"
            plan.snapshot.percent_progress = 100
            return True
        plan.snapshot.status = "creating"
        plan.snapshot.percent_progress = min(99, math.floor(100 * elapsed / plan.duration))
        return False

    # -- alarms -----------------------------------------------------------------------------------
    def _sync_alarms(self, now: float) -> None:
        """R24: alarms targeted by an `alarm` fault on a service's current deployment."""
        from moto.cloudwatch.models import cloudwatch_backends

        targets: dict[tuple[str, str, str], float] = {}
        for sim in self.services.values():
            d = sim.last_completed
            if sim.deleted or d is None or d.finished_at is None:
                continue
            for fault in self.control.faults_for(d.tag, "alarm", d.image):
                if fault.alarm_name:
                    names = [fault.alarm_name]
                else:
                    names = [n for (a, r, n) in self.provisioned_alarms if (a, r) == (sim.account, sim.region)]
                for name in names:
                    key = (sim.account, sim.region, name)
                    targets[key] = max(targets.get(key, 0.0), d.finished_at, fault.created_at)
        for key, since in targets.items():
            alarm = cloudwatch_backends[key[0]][key[1]].alarms.get(key[2])
            if alarm is None:
                continue
            self.alarmed.add(key)
            if alarm.state_value != "ALARM":
                threshold = alarm.threshold
                reason = (
                    f"Threshold Crossed: 1 datapoint [{float(threshold or 0) + 1}] was greater than or equal "
                    f"to the threshold ({float(threshold or 0)})."
                )
                data = json.dumps({"version": "1.0", "queryDate": to_datetime(since).isoformat(),
                                   "statistic": "Average", "period": 60, "recentDatapoints": [float(threshold or 0) + 1],
                                   "threshold": float(threshold or 0), "evaluatedDatapoints": []})
                alarm.update_state(reason, data, "ALARM")
                alarm.state_updated_timestamp = to_datetime(since)
        for key in list(self.alarmed - set(targets)):
            self.alarmed.discard(key)
            alarm = cloudwatch_backends[key[0]][key[1]].alarms.get(key[2])
            if alarm is not None and alarm.state_value == "ALARM":
                alarm.update_state(
                    "Threshold Crossed: no datapoints were breaching the threshold (sandbox).", "{}", "OK"
                )


def new_epoch() -> str:
    return uuid.uuid4().hex[:12]
