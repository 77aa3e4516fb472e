/**
 * The preview diff model: the reviewer's view of each engine event (the resource, its op and its
 * property-level diff), with values made safe to show (secrets and unknowns as placeholders).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import type { PropertyChange, PropertyDiffKind, ResourceChange } from "./port.ts";

/** Placeholder of a value Pulumi marks secret: secrets never leave the adapter. */
export const SECRET_VALUE = "[secret]";
/** Placeholder of a value not known before the update (an output of another resource). */
export const UNKNOWN_VALUE = "[known after apply]";

/** The logical name of a resource: the last segment of its URN. */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Pulumi's signature key/value of a secret in serialized property values (sdk/go/common/resource/sig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";
/** Input of every dynamic resource holding its provider's serialized source. */
const DYNAMIC_PROVIDER_KEY = "__provider";
/** Pulumi's serialized unknown (computed) value. */
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A property value safe to show a reviewer: secrets (Pulumi's `[secret]` and signature-wrapped
 * values, whatever they hold) become {@link SECRET_VALUE}, unknowns {@link UNKNOWN_VALUE}; a
 * dynamic provider's serialized source (`__provider`, plumbing its own diff ignores) is left out.
 */
export function reviewValue(value: unknown): unknown {
  if (value === UNKNOWN_SENTINEL) return UNKNOWN_VALUE;
  if (typeof value === "string") return value.includes(SECRET_VALUE) ? SECRET_VALUE : value;
  if (Array.isArray(value)) return value.map((v) => reviewValue(v));
  if (isRecord(value)) {
    if (value[SECRET_SIG] === SECRET_SIG_VALUE) return SECRET_VALUE;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== DYNAMIC_PROVIDER_KEY)
        .map(([k, v]) => [k, reviewValue(v)]),
    );
  }
  return value;
}

/** Split a Pulumi property path (`a.b[0]["c.d"]`) into its keys and indices. */
export function parsePropertyPath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) parts.push(Number(m[1]));
    else if (m[2] !== undefined) parts.push(m[2].replace(/\\(.)/g, "$1"));
    else if (m[3] !== undefined) parts.push(m[3]);
  }
  return parts;
}

/** The value at a Pulumi property path, or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  if (path === "(root)") return root;
  let v: unknown = root;
  for (const part of parsePropertyPath(path)) {
    if (typeof part === "number" ? Array.isArray(v) : isRecord(v)) v = (v as Record<string, unknown>)[part];
    else return undefined;
  }
  return v;
}

/** `prefix` extended by `key` in Pulumi's path syntax (`a.b`, `a["k.8s/x"]`, `a[0]`). */
function joinPath(prefix: string, key: string | number): string {
  if (typeof key === "number") return `${prefix}[${String(key)}]`;
  if (/^[A-Za-z_$][\w$:-]*$/.test(key)) return prefix ? `${prefix}.${key}` : key;
  return `${prefix}[${JSON.stringify(key)}]`;
}

/**
 * Paths of the leaves that differ between two input objects (up to `depth` levels; arrays are
 * leaves), for providers that report no property diff of their own (dynamic providers).
 */
export function changedPaths(a: unknown, b: unknown, depth = 4, prefix = ""): string[] {
  if (depth > 0 && isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], depth - 1, joinPath(prefix, k)));
  }
  if (a === undefined && b === undefined) return [];
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || "(root)"];
}

/** Paths of every leaf of a created or deleted resource's properties (up to `depth` levels). */
export function leafPaths(value: unknown, depth = 4, prefix = ""): string[] {
  if (depth > 0 && isRecord(value)) {
    return Object.keys(value)
      .sort()
      .flatMap((k) => leafPaths(value[k], depth - 1, joinPath(prefix, k)));
  }
  return value === undefined ? [] : [prefix || "(root)"];
}

const DIFF_KINDS: ReadonlySet<string> = new Set<PropertyDiffKind>([
  "add",
  "add-replace",
  "delete",
  "delete-replace",
  "update",
  "update-replace",
]);

/**
 * Ops that are one half of a replacement; the `replace` event itself carries the resource's diff,
 * so a reviewer sees each replaced resource once.
 */
const REPLACEMENT_PARTS: ReadonlySet<string> = new Set([
  "create-replacement",
  "delete-replaced",
  "discard-replaced",
  "import-replacement",
]);

/**
 * The reviewer's view of one engine event: the resource, its op, and its property-level diff (the
 * provider's detailed diff when it gives one, else the leaves that differ between old and new
 * inputs), values made safe by {@link reviewValue}. Undefined for events that are not a resource
 * step a reviewer cares about (the stack itself, provider instances, halves of a replacement).
 */
export function resourceChangeOf(event: EngineEvent): ResourceChange | undefined {
  const meta = event.resourcePreEvent?.metadata;
  if (!meta || meta.type === "pulumi:pulumi:Stack" || meta.type.startsWith("pulumi:providers:"))
    return undefined;
  if (REPLACEMENT_PARTS.has(meta.op)) return undefined;
  const oldInputs = reviewValue(meta.old?.inputs);
  const oldOutputs = reviewValue(meta.old?.outputs);
  const newInputs = reviewValue(meta.new?.inputs);
  const replaceReasons = [...(meta.keys ?? [])].sort();
  const base = { op: meta.op, urn: meta.urn, type: meta.type, name: urnName(meta.urn), replaceReasons };
  if (meta.op === "same" || meta.op === "read" || meta.op === "refresh") {
    return { ...base, diffs: [], properties: [], replaceReasons: [] };
  }
  const side = (v: unknown, key: "old" | "new"): { old?: unknown; new?: unknown } =>
    v === undefined ? {} : { [key]: v };
  let properties: PropertyChange[];
  if (meta.op === "create" || meta.op === "import") {
    properties = leafPaths(newInputs).map((path) => ({
      path,
      kind: "add",
      ...side(valueAt(newInputs, path), "new"),
    }));
  } else if (meta.op === "delete") {
    const gone = meta.old?.outputs && Object.keys(meta.old.outputs).length ? oldOutputs : oldInputs;
    properties = leafPaths(gone).map((path) => ({
      path,
      kind: "delete",
      ...side(valueAt(gone, path), "old"),
    }));
  } else if (meta.detailedDiff && Object.keys(meta.detailedDiff).length > 0) {
    properties = Object.entries(meta.detailedDiff)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([path, d]) => ({
        path,
        kind: DIFF_KINDS.has(d.diffKind) ? (d.diffKind as PropertyDiffKind) : "update",
        ...side(valueAt(d.inputDiff ? oldInputs : oldOutputs, path), "old"),
        ...side(valueAt(newInputs, path), "new"),
      }));
  } else {
    const replaced = new Set(meta.keys ?? []);
    properties = changedPaths(oldInputs, newInputs).map((path) => {
      const before = valueAt(oldInputs, path);
      const after = valueAt(newInputs, path);
      const kind = before === undefined ? "add" : after === undefined ? "delete" : "update";
      const top = parsePropertyPath(path)[0];
      return {
        path,
        kind: typeof top === "string" && replaced.has(top) ? (`${kind}-replace` as const) : kind,
        ...side(before, "old"),
        ...side(after, "new"),
      };
    });
    // Providers that report changed keys but no values (e.g. a changed secret) still name them.
    if (properties.length === 0 && meta.diffs?.length) {
      properties = [...meta.diffs].sort().map((path) => ({ path, kind: "update" }));
    }
  }
  const diffs = meta.diffs?.length
    ? [...meta.diffs]
    : [...new Set(properties.map((p) => String(parsePropertyPath(p.path)[0] ?? p.path)))];
  return { ...base, diffs, properties };
}
