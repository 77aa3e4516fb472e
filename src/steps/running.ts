/**
 * What a service runs now, as ECS says: the one place that reads it (the record's `current`, the
 * hooks' GANTRY_PREVIOUS_TAG, the preview's "from", `gantry status`).
 */
import { containerDigest, containerVersion } from "../aws/taskDefinition.ts";
import type { EcsPort, ServiceState } from "../aws/ports.ts";

/** What one service runs now. */
export interface RunningVersion {
  /** The container's version: its APP_VERSION, else its image's tag (src/aws/ecs.ts containerVersion). */
  readonly tag: string;
  /** `sha256:…` when the container's image is a digest reference (as releases register it). */
  readonly digest: string | undefined;
  /** The container's image reference; undefined when the task definition has no such container. */
  readonly image: string | undefined;
  /** The task definition the service is on. */
  readonly taskDefinitionArn: string;
  /** The service as ECS described it (its deployments, desired count, …). */
  readonly service: ServiceState;
}

/**
 * What `service` of `cluster` runs now: its task definition and the version of its container
 * `containerName`. Undefined when ECS has no such service; errors of ECS are thrown (callers that
 * only want a best effort catch them). Two ECS calls: DescribeServices, DescribeTaskDefinition.
 */
export async function runningVersion(
  ecs: Pick<EcsPort, "describeService" | "describeTaskDefinition">,
  cluster: string,
  service: { readonly serviceName: string; readonly containerName: string },
): Promise<RunningVersion | undefined> {
  const state = await ecs.describeService(cluster, service.serviceName);
  if (!state) return undefined;
  const definition = await ecs.describeTaskDefinition(state.taskDefinition);
  const image = definition.containerDefinitions?.find((c) => c.name === service.containerName)?.image;
  return {
    tag: containerVersion(definition, service.containerName),
    digest: containerDigest(definition, service.containerName),
    image,
    taskDefinitionArn: state.taskDefinition,
    service: state,
  };
}
