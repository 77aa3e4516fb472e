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
    subnets: z.array(nonEmpty).min(1),
    securityGroups: z.array(nonEmpty).min(1),
  }),
  database: z.object({ instanceId: nonEmpty }),
  alarmNames: z.array(nonEmpty),
  ecrRepositoryUrl: nonEmpty,
  deployRoleArn: nonEmpty,
});

/** The typed outputs every environment stack exports. */
export type EnvironmentOutputs = z.infer<typeof environmentOutputsSchema>;
/** One service of {@link EnvironmentOutputs}. */
export type ServiceOutputs = z.infer<typeof serviceOutputSchema>;
