"""Provisioning API for the Pulumi dynamic resources of the sandbox stack (SPEC R15).

Each kind creates its resources in moto through the normal backends, so the AWS API
sees them. Callers hold the engine lock.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import ACCOUNT_ID, DEFAULT_REGION
from .engine import Engine
from .health_server import HealthEndpoint
from .state import ControlError


@dataclass
class Resource:
    kind: str
    name: str
    region: str
    inputs: dict[str, Any]
    id: str
    outputs: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # physical ids needed for delete
    health: HealthEndpoint | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "outputs": self.outputs}


def _require(inputs: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if inputs.get(n) in (None, "", [])]
    if missing:
        raise ControlError(400, f"missing input(s): {', '.join(missing)}",
                           "pass them in the JSON body of the PUT request")


def _aws_name(text: str, suffix: str = "") -> str:
    """An ELB-safe name: alphanumerics and single hyphens, at most 32 characters."""
    base = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", text)).strip("-") or "gantry"
    return (base[: 32 - len(suffix)].rstrip("-") + suffix)[:32]


def _pairs(value: Any, key: str = "name", val: str = "value") -> list[dict[str, str]]:
    """{"A": "1"} or [{"name": "A", "value": "1"}] -> [{key: "A", val: "1"}]."""
    if not value:
        return []
    if isinstance(value, dict):
        return [{key: str(k), val: str(v)} for k, v in value.items()]
    out = []
    for item in value:
        k = item.get(key, item.get(key.capitalize(), item.get(key.lower())))
        v = item.get(val, item.get(val.capitalize(), item.get(val.lower())))
        out.append({key: str(k), val: str(v)})
    return out


_BACKENDS = {
    "ec2": ("moto.ec2.models", "ec2_backends"),
    "ecs": ("moto.ecs.models", "ecs_backends"),
    "ecr": ("moto.ecr.models", "ecr_backends"),
    "logs": ("moto.logs.models", "logs_backends"),
    "elbv2": ("moto.elbv2.models", "elbv2_backends"),
    "cloudwatch": ("moto.cloudwatch.models", "cloudwatch_backends"),
    "rds": ("moto.rds.models", "rds_backends"),
}


def backend(service: str, region: str) -> Any:
    """moto's backend of `service` for the sandbox account in `region`."""
    module, name = _BACKENDS[service]
    return getattr(importlib.import_module(module), name)[ACCOUNT_ID][region]


def _quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Best-effort cleanup: the resource may already be gone."""
    try:
        fn(*args, **kwargs)
    except Exception:
        pass


class Provisioner:
    KINDS = ("network", "cluster", "repository", "logGroup", "targetGroup", "taskDefinition",
             "service", "alarm", "dbInstance")

    def __init__(self, engine: Engine, host: str) -> None:
        self.engine = engine
        self.host = host
        self.resources: dict[tuple[str, str], Resource] = {}
        self.to_close: list[HealthEndpoint] = []  # closed by the caller, outside the lock

    # -- API ---------------------------------------------------------------------------
    def put(self, kind: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        self._check_kind(kind)
        region = str(inputs.get("region") or DEFAULT_REGION)
        existing = self.resources.get((kind, name))
        if existing is not None and existing.inputs == inputs:
            return existing.as_json()
        if existing is not None and existing.region == region:
            updater = getattr(self, f"_update_{kind}", None)
            if updater is not None and updater(existing, inputs):
                existing.inputs = inputs
                return existing.as_json()
        if existing is not None:
            self.delete(kind, name)
        res = getattr(self, f"_create_{kind}")(name, region, inputs)
        self.resources[(kind, name)] = res
        return res.as_json()

    def get(self, kind: str, name: str) -> Resource | None:
        self._check_kind(kind)
        return self.resources.get((kind, name))

    def delete(self, kind: str, name: str) -> None:
        self._check_kind(kind)
        res = self.resources.pop((kind, name), None)
        if res is not None:
            getattr(self, f"_delete_{kind}")(res)

    def listing(self) -> list[dict[str, Any]]:
        return [{"kind": r.kind, "name": r.name, **r.as_json()} for r in self.resources.values()]

    def forget_all(self) -> None:
        """Drop all records (moto is reset separately); their health endpoints get closed."""
        self.to_close.extend(r.health for r in self.resources.values() if r.health is not None)
        self.resources.clear()

    def take_to_close(self) -> list[HealthEndpoint]:
        endpoints, self.to_close = self.to_close, []
        return endpoints

    def _check_kind(self, kind: str) -> None:
        if kind not in self.KINDS:
            raise ControlError(404, f"unknown resource kind '{kind}'", f"use one of: {', '.join(self.KINDS)}")

    # -- network -------------------------------------------------------------------------
    def _create_network(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:
        ec2 = backend("ec2", region)
        cidr = str(inputs.get("cidrBlock") or "10.0.0.0/16")
        net = ipaddress.ip_network(cidr, strict=False)
        if net.prefixlen <= 23:
            blocks = list(net.subnets(new_prefix=24))[1:3]
        else:
            blocks = list(net.subnets(prefixlen_diff=1))[:2]
        vpc = ec2.create_vpc(cidr_block=cidr, tags=[{"Key": "Name", "Value": name}])
        vpc.enable_dns_hostnames = True  # as VPCs for Fargate services usually are
        subnet_ids = []
        for i, block in enumerate(blocks):
            subnet = ec2.create_subnet(vpc_id=vpc.id, cidr_block=str(block), availability_zone=f"{region}{'ab'[i]}")
            ec2.create_tags([subnet.id], {"Name": f"{name}-private-{i + 1}"})
            subnet_ids.append(subnet.id)
        sg = ec2.create_security_group(f"{name}-sg", "gantry sandbox service security group", vpc_id=vpc.id)
        ec2.create_tags([sg.id], {"Name": f"{name}-sg"})
        outputs = {"vpcId": vpc.id, "subnetIds": subnet_ids, "securityGroupIds": [sg.id]}
        return Resource("network", name, region, inputs, vpc.id, outputs)

    def _update_network(self, res: Resource, inputs: dict[str, Any]) -> bool:
        return inputs.get("cidrBlock") == res.inputs.get("cidrBlock")

    def _delete_network(self, res: Resource) -> None:
        ec2 = backend("ec2", res.region)
        for sg in res.outputs["securityGroupIds"]:
            _quietly(ec2.delete_security_group, group_id=sg)
        for subnet in res.outputs["subnetIds"]:
            _quietly(ec2.delete_subnet, subnet)
        _quietly(ec2.delete_vpc, res.outputs["vpcId"])

    # -- cluster ---------------------------------------------------------------------------
    def _create_cluster(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:
        ecs = backend("ecs", region)
        cluster_name = str(inputs.get("clusterName") or name)
        cluster = ecs.clusters.get(cluster_name)
        if cluster is None or cluster.status != "ACTIVE":
            cluster = ecs.create_cluster(cluster_name)
        outputs = {"clusterName": cluster.name, "clusterArn": cluster.arn}
        return Resource("cluster", name, region, inputs, cluster.arn, outputs)

    def _update_cluster(self, res: Resource, inputs: dict[str, Any]) -> bool:
        return str(inputs.get("clusterName") or res.name) == res.outputs["clusterName"]

    def _delete_cluster(self, res: Resource) -> None:
        _quietly(lambda: backend("ecs", res.region).delete_cluster(res.outputs["clusterName"]))

    # -- repository ------------------------------------------------------------------------
    def _create_repository(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:
        repo = ensure_repository(region, str(inputs.get("repositoryName") or name))
        outputs = {"repositoryName": repo.name, "repositoryUrl": repo.uri, "registryId": repo.registry_id}
        return Resource("repository", name, region, inputs, repo.name, outputs)

    def _update_repository(self, res: Resource, inputs: dict[str, Any]) -> bool:
        return str(inputs.get("repositoryName") or res.name) == res.outputs["repositoryName"]

    def _delete_repository(self, res: Resource) -> None:
        _quietly(lambda: backend("ecr", res.region).delete_repository(res.outputs["repositoryName"], force=True))

    # -- logGroup -----------------------------------------------------------------------------
    def _create_logGroup(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:  # noqa: N802
        logs = backend("logs", region)
        group = str(inputs.get("logGroupName") or name)
        if group not in logs.groups:
            logs.create_log_group(group, tags={})
        logs.put_retention_policy(group, int(inputs.get("retentionInDays") or 30))
        return Resource("logGroup", name, region, inputs, group, {"logGroupName": group})

    def _update_logGroup(self, res: Resource, inputs: dict[str, Any]) -> bool:  # noqa: N802
        if str(inputs.get("logGroupName") or res.name) != res.outputs["logGroupName"]:
            return False
        backend("logs", res.region).put_retention_policy(res.outputs["logGroupName"], int(inputs.get("retentionInDays") or 30))
        return True

    def _delete_logGroup(self, res: Resource) -> None:  # noqa: N802
        _quietly(lambda: backend("logs", res.region).delete_log_group(res.outputs["logGroupName"]))

    # -- targetGroup ----------------------------------------------------------------------------
    def _create_targetGroup(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:  # noqa: N802
        ec2 = backend("ec2", region)
        elb = backend("elbv2", region)
        subnet_ids = list(inputs.get("subnetIds") or [])
        vpc_id = inputs.get("vpcId")
        if not subnet_ids and vpc_id:
            subnet_ids = [s.id for s in ec2.describe_subnets(filters={"vpc-id": [vpc_id]})]
        if not subnet_ids:
            networks = [r for r in self.resources.values() if r.kind == "network" and r.region == region]
            if networks:
                subnet_ids = list(networks[-1].outputs["subnetIds"])
        if not subnet_ids:
            raise ControlError(400, "targetGroup needs subnets", "pass subnetIds or vpcId, or provision a network first")
        vpc_id = vpc_id or ec2.get_subnet(subnet_ids[0]).vpc_id
        security_groups = list(inputs.get("securityGroupIds") or [])
        port = int(inputs.get("port") or 8080)
        lb = elb.create_load_balancer(
            name=_aws_name(str(inputs.get("name") or name), "-alb"),
            security_groups=security_groups,
            subnet_ids=subnet_ids,
            scheme="internal",
            loadbalancer_type="application",
        )
        tg = elb.create_target_group(
            _aws_name(str(inputs.get("name") or name), "-tg"),
            vpc_id=vpc_id,
            protocol="HTTP",
            port=port,
            healthcheck_protocol="HTTP",
            healthcheck_path=str(inputs.get("healthCheckPath") or "/health"),
            healthcheck_interval_seconds=10,
            healthy_threshold_count="2",
            unhealthy_threshold_count="2",
            target_type="ip",
        )
        listener = elb.create_listener(
            load_balancer_arn=lb.arn, protocol="HTTP", port=80, ssl_policy=None, certificate=None,
            actions=[{"Type": "forward", "TargetGroupArn": tg.arn}],
        )
        outputs = {"targetGroupArn": tg.arn, "loadBalancerArn": lb.arn}
        return Resource("targetGroup", name, region, inputs, tg.arn, outputs, {"listenerArn": listener.arn})

    def _update_targetGroup(self, res: Resource, inputs: dict[str, Any]) -> bool:  # noqa: N802
        changed = {k for k in set(inputs) | set(res.inputs) if inputs.get(k) != res.inputs.get(k)}
        if changed - {"healthCheckPath"}:
            return False
        tg = backend("elbv2", res.region).target_groups.get(res.outputs["targetGroupArn"])
        if tg is not None:
            tg.health_check_path = str(inputs.get("healthCheckPath") or "/health")
        return True

    def _delete_targetGroup(self, res: Resource) -> None:  # noqa: N802
        elb = backend("elbv2", res.region)
        _quietly(lambda: elb.delete_listener(res.extra["listenerArn"]))
        _quietly(lambda: elb.delete_load_balancer(res.outputs["loadBalancerArn"]))
        _quietly(lambda: elb.delete_target_group(res.outputs["targetGroupArn"]))

    # -- taskDefinition ------------------------------------------------------------------------------
    def _register(self, name: str, region: str, inputs: dict[str, Any]) -> Any:
        _require(inputs, "image")
        family = str(inputs.get("family") or name)
        container_name = str(inputs.get("containerName") or "app")
        container: dict[str, Any] = {
            "name": container_name,
            "image": str(inputs["image"]),
            "essential": True,
            "portMappings": [{"containerPort": int(inputs.get("containerPort") or 8080), "protocol": "tcp"}],
            "environment": _pairs(inputs.get("environment")),
        }
        if inputs.get("command"):
            command = inputs["command"]
            container["command"] = [command] if isinstance(command, str) else [str(c) for c in command]
        if inputs.get("logGroupName"):
            container["logConfiguration"] = {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": str(inputs["logGroupName"]),
                    "awslogs-region": region,
                    "awslogs-stream-prefix": str(inputs.get("logStreamPrefix") or family),
                },
            }
        return backend("ecs", region).register_task_definition(
            family,
            [container],
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(inputs.get("cpu") or 256),
            memory=str(inputs.get("memory") or 512),
        )

    def _create_taskDefinition(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:  # noqa: N802
        td = self._register(name, region, inputs)
        outputs = {"taskDefinitionArn": td.arn, "family": td.family, "revision": td.revision}
        return Resource("taskDefinition", name, region, inputs, td.family, outputs)

    def _update_taskDefinition(self, res: Resource, inputs: dict[str, Any]) -> bool:  # noqa: N802
        if str(inputs.get("family") or res.name) != res.outputs["family"]:
            return False
        td = self._register(res.name, res.region, inputs)
        res.outputs = {"taskDefinitionArn": td.arn, "family": td.family, "revision": td.revision}
        return True

    def _delete_taskDefinition(self, res: Resource) -> None:  # noqa: N802
        _quietly(lambda: backend("ecs", res.region).deregister_task_definition(res.outputs["taskDefinitionArn"]))

    # -- service -----------------------------------------------------------------------------------
    @staticmethod
    def _deployment_configuration(inputs: dict[str, Any]) -> dict[str, Any]:
        rollback = bool(inputs.get("circuitBreakerRollback", True))
        alarm_names = [str(a) for a in inputs.get("alarmNames") or []]
        return {
            "deploymentCircuitBreaker": {"enable": True, "rollback": rollback},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "alarms": {"alarmNames": alarm_names, "enable": bool(alarm_names), "rollback": rollback},
        }

    def _create_service(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:
        _require(inputs, "cluster", "taskDefinitionArn", "subnets", "securityGroups")
        ecs = backend("ecs", region)
        service_name = str(inputs.get("serviceName") or name)
        container_name = str(inputs.get("containerName") or "app")
        container_port = int(inputs.get("containerPort") or 8080)
        load_balancers = []
        if inputs.get("targetGroupArn"):
            load_balancers.append({"targetGroupArn": str(inputs["targetGroupArn"]),
                                   "containerName": container_name, "containerPort": container_port})
        try:
            service = ecs.create_service(
                str(inputs["cluster"]),
                service_name,
                int(inputs.get("desiredCount", 1)),
                task_definition_str=str(inputs["taskDefinitionArn"]),
                load_balancers=load_balancers,
                launch_type="FARGATE",
                platform_version="1.4.0",
                network_configuration={"awsvpcConfiguration": {
                    "subnets": [str(s) for s in inputs["subnets"]],
                    "securityGroups": [str(s) for s in inputs["securityGroups"]],
                    "assignPublicIp": "DISABLED",
                }},
            )
        except ControlError:
            raise
        except Exception as exc:
            raise ControlError(400, f"cannot create service: {getattr(exc, 'message', exc)}",
                               "check cluster, taskDefinitionArn, subnets and securityGroups exist") from exc
        sim = self.engine.register_service(service, ecs, ACCOUNT_ID, region, time.time(),
                                           deployment_configuration=self._deployment_configuration(inputs))
        health = HealthEndpoint(self.engine, sim.key, service.name, self.host)
        outputs = {"serviceName": service.name, "serviceArn": service.arn, "healthUrl": health.url}
        return Resource("service", name, region, inputs, service.arn, outputs,
                        {"cluster": str(inputs["cluster"])}, health)

    def _update_service(self, res: Resource, inputs: dict[str, Any]) -> bool:
        if (str(inputs.get("cluster")) != res.extra["cluster"]
                or str(inputs.get("serviceName") or res.name) != res.outputs["serviceName"]):
            return False
        ecs = backend("ecs", res.region)
        try:
            service = ecs._get_service(res.extra["cluster"], res.outputs["serviceName"])
        except Exception:
            return False
        sim = self.engine.find_service(ACCOUNT_ID, res.region, service)
        service.deployment_configuration = self._deployment_configuration(inputs)
        desired = int(inputs.get("desiredCount", 1))
        if sim is not None and desired != service.desired_count:
            # Never a deployment: a changed taskDefinitionArn is ignored (R15).
            self.engine.on_update_service(sim, service.task_definition, None, False, desired, time.time())
        return True

    def _delete_service(self, res: Resource) -> None:
        ecs = backend("ecs", res.region)
        try:
            service = ecs._get_service(res.extra["cluster"], res.outputs["serviceName"])
            sim = self.engine.find_service(ACCOUNT_ID, res.region, service)
            ecs.delete_service(res.extra["cluster"], res.outputs["serviceName"], force=True)
            if sim is not None:
                self.engine.on_delete_service(sim, time.time())
        except Exception:
            pass
        if res.health is not None:
            self.to_close.append(res.health)

    # -- alarm --------------------------------------------------------------------------------------
    def _create_alarm(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:
        _require(inputs, "metricName", "namespace")
        alarm_name = str(inputs.get("alarmName") or name)
        alarm = backend("cloudwatch", region).put_metric_alarm(
            name=alarm_name,
            namespace=str(inputs["namespace"]),
            metric_name=str(inputs["metricName"]),
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=1,
            period=60,
            threshold=float(inputs.get("threshold", 1)),
            statistic="Average",
            description=f"gantry sandbox alarm {alarm_name}",
            dimensions=_pairs(inputs.get("dimensions"), "Name", "Value"),
            alarm_actions=[],
        )
        self.engine.provisioned_alarms.add((ACCOUNT_ID, region, alarm_name))
        outputs = {"alarmName": alarm_name, "alarmArn": alarm.alarm_arn}
        return Resource("alarm", name, region, inputs, alarm_name, outputs)

    def _update_alarm(self, res: Resource, inputs: dict[str, Any]) -> bool:
        if str(inputs.get("alarmName") or res.name) != res.outputs["alarmName"]:
            return False
        self._create_alarm(res.name, res.region, inputs)  # PutMetricAlarm overwrites in place
        return True

    def _delete_alarm(self, res: Resource) -> None:
        name = res.outputs["alarmName"]
        _quietly(lambda: backend("cloudwatch", res.region).delete_alarms([name]))
        self.engine.provisioned_alarms.discard((ACCOUNT_ID, res.region, name))

    # -- dbInstance ------------------------------------------------------------------------------------
    def _create_dbInstance(self, name: str, region: str, inputs: dict[str, Any]) -> Resource:  # noqa: N802
        rds = backend("rds", region)
        identifier = str(inputs.get("dbInstanceIdentifier") or name)
        db = rds.databases.get(identifier)
        if db is None:
            try:
                db = rds.create_db_instance({
                    "db_instance_identifier": identifier,
                    "db_instance_class": str(inputs.get("instanceClass") or "db.t3.micro"),
                    "engine": "postgres",
                    "allocated_storage": int(inputs.get("allocatedStorage") or 20),
                    "master_username": "gantry",
                    "master_user_password": "gantry-sandbox-password",
                    "db_name": "gantry",
                    "port": 5432,
                })
            except Exception as exc:
                raise ControlError(400, f"cannot create db instance: {getattr(exc, 'message', exc)}",
                                   "use a lowercase identifier of letters, digits and hyphens") from exc
        outputs = {"dbInstanceIdentifier": db.db_instance_identifier, "dbInstanceArn": db.db_instance_arn,
                   "endpoint": f"{db.address}:{db.port}"}
        return Resource("dbInstance", name, region, inputs, db.db_instance_identifier, outputs)

    def _update_dbInstance(self, res: Resource, inputs: dict[str, Any]) -> bool:  # noqa: N802
        if str(inputs.get("dbInstanceIdentifier") or res.name) != res.outputs["dbInstanceIdentifier"]:
            return False
        db = backend("rds", res.region).databases.get(res.outputs["dbInstanceIdentifier"])
        if db is None:
            return False
        db.db_instance_class = str(inputs.get("instanceClass") or "db.t3.micro")
        db.allocated_storage = int(inputs.get("allocatedStorage") or 20)
        return True

    def _delete_dbInstance(self, res: Resource) -> None:  # noqa: N802
        _quietly(lambda: backend("rds", res.region).delete_db_instance(
            res.outputs["dbInstanceIdentifier"], skip_final_snapshot=True))


def ensure_repository(region: str, name: str) -> Any:
    ecr = backend("ecr", region)
    repo = ecr.repositories.get(name)
    if repo is None:
        repo = ecr.create_repository(
            repository_name=name, registry_id=None, encryption_config=None,
            image_scan_config=None, image_tag_mutability="MUTABLE", tags=[],
        )
    return repo
