/**
 * Reading IAM policy documents the way IAM does: every statement with its actions and resources
 * as lists, so tests can ask "which resources may do X".
 */
export interface Statement {
  readonly sid: string | undefined;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition: Record<string, Record<string, unknown>> | undefined;
}

/** IAM allows a single string or a list of strings. */
const list = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as string[]) : [value as string];

/** The statements of a policy document (JSON text, as given to IAM). */
export function statements(policy: unknown): Statement[] {
  const doc = JSON.parse(String(policy)) as { Statement: Record<string, unknown>[] };
  return doc.Statement.map((s) => ({
    sid: typeof s.Sid === "string" ? s.Sid : undefined,
    effect: String(s.Effect),
    actions: list(s.Action),
    resources: list(s.Resource),
    condition: s.Condition as Statement["condition"],
  }));
}

/** Every resource the allow statements grant `action` on. */
export function resourcesFor(policy: readonly Statement[], action: string): string[] {
  return policy.filter((s) => s.effect === "Allow" && s.actions.includes(action)).flatMap((s) => s.resources);
}

/** Whether an ECS or RDS action changes something (anything but Describe*, List*, Get*). */
export function isMutatingEcsOrRds(action: string): boolean {
  const [service, name = ""] = action.split(":");
  return (service === "ecs" || service === "rds") && !/^(Describe|List|Get)/.test(name);
}
