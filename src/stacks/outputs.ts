/**
 * EnvironmentOutputs: the contract between a stack and the orchestrator (DESIGN.md "Contracts").
 * The real AWS stack and the sandbox stack both export exactly this shape; the orchestrator
 * validates it once after `up` and never reads raw stack outputs.
 */
import { z } from "zod";

const nonEmpty = z.string().min(1);

/** Schema of one ECS service entry. */
export const serviceOutputSchema = z.object({
  name: nonEmpty,
  /**
   * The service's image name as configured (src/config/image.ts): an ECR repository or
   * `registry/name`. Absent in the outputs of a stack last updated before images were per service.
   */
  image: nonEmpty.optional(),
  serviceName: nonEmpty,
  taskDefinitionFamily: nonEmpty,
  containerName: nonEmpty,
  targetGroupArns: z.array(nonEmpty),
  healthUrl: z.url(),
});

/** Schema of the whole contract. */
export const environmentOutputsSchema = z.object({
  clusterName: nonEmpty,
  services: z.array(serviceOutputSchema).min(1),
  migration: z.object({
    taskDefinitionFamily: nonEmpty,
    containerName: nonEmpty,
    /** The service whose image the migration task runs (`gantry:migration.service`, default the first). Absent like `image`. */
    service: nonEmpty.optional(),
    subnets: z.array(nonEmpty).min(1),
    securityGroups: z.array(nonEmpty).min(1),
  }),
  database: z.object({ instanceId: nonEmpty }),
  alarmNames: z.array(nonEmpty),
  /**
   * The repository URL of the first service whose image is in ECR; absent when every image comes
   * from another registry. Kept for readers of the one-image contract: read
   * `services[].image` instead.
   */
  ecrRepositoryUrl: nonEmpty.optional(),
  deployRoleArn: nonEmpty,
});

/**
 * Whether a resource of the programs is the environment's database instance: the AWS program's
 * `aws:rds/instance:Instance`, the sandbox program's emulated `dbInstance`. The deploy starts its
 * snapshot alongside the stack update when the engine leaves this resource as it is.
 */
export function isDatabaseResource(
  type: string,
  inputs: Readonly<Record<string, unknown>> | undefined,
): boolean {
  return type === "aws:rds/instance:Instance" || inputs?.kind === "dbInstance";
}

/** The typed outputs every environment stack exports. */
export type EnvironmentOutputs = z.infer<typeof environmentOutputsSchema>;
/** One service of {@link EnvironmentOutputs}. */
export type ServiceOutputs = z.infer<typeof serviceOutputSchema>;
