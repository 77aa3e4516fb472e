"""Hooks into moto's response handlers for the operations whose behaviour the sandbox adds.

Each hook lets moto do its normal work, then hands the resulting model objects to the
engine, which mutates them before moto serializes the response. The middleware holds the
engine lock around every moto request, so the hooks run under it too.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.models import FakeHealthStatus
from moto.elbv2.responses import ELBV2Response
from moto.moto_api import state_manager
from moto.rds.responses import RDSResponse

from .engine import Engine

_engine: Engine | None = None
_installed = False


def engine() -> Engine:
    assert _engine is not None, "hooks.install() was not called"
    return _engine


def _wrap(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(cls, name)
    wrapped = make(original)
    wrapped.__name__ = name
    setattr(cls, name, wrapped)


# -- ECS ------------------------------------------------------------------------------------
def _create_service(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_service(self: EC2ContainerServiceResponse) -> Any:
        result = original(self)
        service = result.result["service"]
        engine().register_service(
            service, self.ecs_backend, self.current_account, self.region, time.time(),
            deployment_configuration=self._get_param("deploymentConfiguration"),
        )
        return result

    return create_service


def _update_service(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_service(self: EC2ContainerServiceResponse) -> Any:
        backend = self.ecs_backend
        cluster = self._get_param("cluster", "default")
        name = str(self._get_param("service", "")).split("/")[-1]
        try:
            service = backend._get_service(cluster, name)
            previous_td = service.task_definition
        except Exception:
            return original(self)  # let moto produce the error
        result = original(self)
        sim = engine().find_service(self.current_account, self.region, service)
        if sim is not None:
            requested = self._get_param("taskDefinition")
            requested_arn = backend.describe_task_definition(requested).arn if requested else None
            desired = self._get_param("desiredCount")
            engine().on_update_service(
                sim, previous_td, requested_arn, bool(self._get_param("forceNewDeployment", False)),
                int(desired) if desired is not None else None, time.time(),
            )
        return result

    return update_service


def _delete_service(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_service(self: EC2ContainerServiceResponse) -> Any:
        result = original(self)
        service = result.result["service"]
        sim = engine().find_service(self.current_account, self.region, service)
        if sim is not None:
            engine().on_delete_service(sim, time.time())
        return result

    return delete_service


def _run_task(original: Callable[..., Any]) -> Callable[..., Any]:
    def run_task(self: EC2ContainerServiceResponse) -> Any:
        result = original(self)
        engine().on_run_task(
            list(result.result["tasks"]), self.ecs_backend, self.current_account, self.region,
            self._get_param("overrides"), time.time(),
        )
        return result

    return run_task


def _stop_task(original: Callable[..., Any]) -> Callable[..., Any]:
    def stop_task(self: EC2ContainerServiceResponse) -> Any:
        result = original(self)
        engine().on_stop_task(result.result["task"], self._get_param("reason"), time.time())
        return result

    return stop_task


def _list_tasks(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_tasks(self: EC2ContainerServiceResponse) -> Any:
        """Like ECS: filter by serviceName, and list desiredStatus RUNNING unless asked otherwise."""
        tasks = self.ecs_backend.list_tasks(
            self._get_param("cluster", "default"),
            self._get_param("containerInstance"),
            self._get_param("family"),
            self._get_param("startedBy"),
            None,
            self._get_param("desiredStatus") or "RUNNING",
        )
        service_name = self._get_param("serviceName")
        if service_name:
            group = f"service:{str(service_name).split('/')[-1]}"
            tasks = [t for t in tasks if t.group == group]
        launch_type = self._get_param("launchType")
        if launch_type:
            tasks = [t for t in tasks if (t.launch_type or "") == launch_type]
        return ActionResult({"taskArns": [t.task_arn for t in tasks]})

    return list_tasks


# -- RDS -------------------------------------------------------------------------------------
def _create_db_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_db_snapshot(self: RDSResponse) -> Any:
        result = original(self)
        engine().on_create_snapshot(result.result["DBSnapshot"], time.time())
        return result

    return create_db_snapshot


# -- ELBv2 -------------------------------------------------------------------------------------
def _describe_target_health(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_target_health(self: ELBV2Response) -> Any:
        health = engine().target_health(str(self._get_param("TargetGroupArn")), time.time())
        if health is None:
            return original(self)
        wanted = {str(t.get("Id")) for t in self._get_param("Targets", []) or []}
        items = [
            FakeHealthStatus(ip, port, str(port), state, reason, description)  # type: ignore[arg-type]
            for ip, port, (state, reason, description) in health
            if not wanted or ip in wanted
        ]
        return ActionResult({"TargetHealthDescriptions": items})

    return describe_target_health


def _patch_resource_requirements() -> None:
    """moto sums container-level memory and crashes on Fargate task definitions that only
    set task-level memory; fall back to the task-level values."""
    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def calculate(task_definition: Any) -> dict[str, Any]:
        try:
            return original(task_definition)
        except TypeError:
            return {"CPU": int(task_definition.cpu or 0), "MEMORY": int(task_definition.memory or 0),
                    "PORTS": [], "PORTS_UDP": []}

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(calculate)  # type: ignore[method-assign]


def install(eng: Engine) -> None:
    """Point the hooks at `eng`; patch moto's response classes once per process."""
    global _engine, _installed
    _engine = eng
    if _installed:
        return
    _installed = True
    # The engine decides task states; stop moto advancing them on DescribeTasks.
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**12})
    # moto's awsvpc Task reads eni.private_dns_name, which only exists in VPCs with DNS
    # hostnames enabled; give it a default so tasks can start in any VPC.
    setattr(NetworkInterface, "private_dns_name", None)
    _patch_resource_requirements()
    _wrap(EC2ContainerServiceResponse, "create_service", _create_service)
    _wrap(EC2ContainerServiceResponse, "update_service", _update_service)
    _wrap(EC2ContainerServiceResponse, "delete_service", _delete_service)
    _wrap(EC2ContainerServiceResponse, "run_task", _run_task)
    _wrap(EC2ContainerServiceResponse, "stop_task", _stop_task)
    _wrap(EC2ContainerServiceResponse, "list_tasks", _list_tasks)
    _wrap(RDSResponse, "create_db_snapshot", _create_db_snapshot)
    _wrap(ELBV2Response, "describe_target_health", _describe_target_health)
