/**
 * A Pulumi dynamic resource that creates one emulated resource in the sandbox through its
 * provisioning API (`PUT|DELETE /_gantry/resources/<kind>/<name>`, sandbox/SPEC.md). The provider
 * runs in Pulumi's dynamic-provider process, so it captures nothing but its inputs and global fetch.
 */
import * as pulumi from "@pulumi/pulumi";

/** Inputs of every sandbox resource. `epoch` changes when the sandbox restarts or is reset. */
export interface SandboxResourceInputs {
  endpoint: pulumi.Input<string>;
  epoch: pulumi.Input<string>;
  kind: string;
  name: string;
  props: pulumi.Input<Record<string, unknown>>;
}

interface Plain {
  endpoint: string;
  epoch: string;
  kind: string;
  name: string;
  props: Record<string, unknown>;
}

async function provision(inputs: Plain): Promise<{ id: string; outputs: Record<string, unknown> }> {
  const url = `${inputs.endpoint}/_gantry/resources/${inputs.kind}/${encodeURIComponent(inputs.name)}`;
  const res = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(inputs.props),
  });
  const text = await res.text();
  if (!res.ok) {
    // Runs inside Pulumi's dynamic-provider process: gantry's error classes are not available there.
    // eslint-disable-next-line no-restricted-syntax
    throw new Error(
      `sandbox refused ${inputs.kind} ${inputs.name}: HTTP ${res.status} ${text.slice(0, 300)}`,
    );
  }
  return JSON.parse(text) as { id: string; outputs: Record<string, unknown> };
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Plain) {
    const created = await provision(inputs);
    return { id: created.id, outs: { ...inputs, result: created.outputs } };
  },
  diff(_id: string, olds: Plain, news: Plain) {
    const replaces = (["kind", "name"] as const).filter((k) => olds[k] !== news[k]);
    const changed = (["endpoint", "epoch", "props"] as const).filter(
      (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
    );
    return Promise.resolve({
      changes: replaces.length + changed.length > 0,
      replaces,
      deleteBeforeReplace: true,
    });
  },
  async update(_id: string, _olds: Plain, news: Plain) {
    const updated = await provision(news);
    return { outs: { ...news, result: updated.outputs } };
  },
  async delete(_id: string, props: Plain) {
    const url = `${props.endpoint}/_gantry/resources/${props.kind}/${encodeURIComponent(props.name)}`;
    // A sandbox that is gone (restarted) has nothing left to delete.
    await fetch(url, { method: "DELETE" }).catch(() => undefined);
  },
};

/** One emulated resource; `result` holds what the sandbox created (ids, ARNs, URLs). */
export class SandboxResource<T extends Record<string, unknown>> extends pulumi.dynamic.Resource {
  declare readonly result: pulumi.Output<T>;

  constructor(name: string, args: SandboxResourceInputs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, result: undefined }, opts, "sandbox", args.kind);
  }
}
