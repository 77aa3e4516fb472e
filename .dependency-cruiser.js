// @ts-check
// Architecture rules for src/, checked by `npm run lint:arch` (part of `npm test`) and by
// test/unit/architecture.test.ts. Dependencies point one way: cli → app → steps →
// {orchestrator, checks, aws ports, pulumi port}; see "Layout" in README.md.
// Every import counts, type-only ones included (tsPreCompilationDeps), and dynamic import() too.
// Any violation fails, naming the rule and the two files; there is no list of known exceptions.

/** The folders a layer names, as one path pattern: `under("steps", "app")` → ^src/(steps|app)/ */
const under = (/** @type {string[]} */ ...folders) => `^src/(${folders.join("|")})/`;

/** @type {import("dependency-cruiser").IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-cycles",
      comment:
        "No import cycles anywhere in src/: a cycle means two modules are one idea split in two, or a " +
        "lower layer reaching back up. Move the shared piece down into the module both can import.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "resolvable",
      comment:
        "Every import in src/ resolves to a file or an installed package: the rules below can only " +
        "check an arrow whose target they can see.",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
    {
      name: "layering-cli-through-app",
      comment:
        "src/cli is argv → options → app → exit code: it reaches the use cases through src/app " +
        "(plus errors.ts, config/ and reporting/), never the steps, the orchestrator, the AWS or " +
        "Pulumi adapters or the stacks directly.",
      severity: "error",
      from: { path: "^src/cli/" },
      to: { path: under("steps", "orchestrator", "aws", "pulumi", "stacks") },
    },
    {
      name: "layering-app-not-cli",
      comment:
        "src/app holds the use cases; it builds on steps/, orchestrator/, checks/, aws/, pulumi/, " +
        "registry/, reporting/ and config/, and knows nothing of the CLI that calls it.",
      severity: "error",
      from: { path: "^src/app/" },
      to: { path: under("cli") },
    },
    {
      name: "layering-steps-not-app-or-cli",
      comment:
        "src/steps are the building blocks the use cases in src/app put together: they never call back up.",
      severity: "error",
      from: { path: "^src/steps/" },
      to: { path: under("app", "cli") },
    },
    {
      name: "steps-through-ports",
      comment:
        "Steps reach AWS and Pulumi only through the narrow ports (src/aws/ports.ts, src/pulumi/port.ts) " +
        "and the SDK-free task definition functions: the adapters, and the SDKs behind them, are wired in " +
        "src/app and handed in. A step that imports an adapter loads an SDK and can bypass its port.",
      severity: "error",
      from: { path: "^src/(steps|checks)/" },
      to: {
        path: "^src/(aws|pulumi)/",
        pathNot: "^src/(aws/(ports|taskDefinition)|pulumi/port)[.]ts$",
      },
    },
    {
      name: "orchestrator-is-generic",
      comment:
        "src/orchestrator is a generic step engine (runner, journal, lock, ledger over its own small " +
        "object-store port): it knows no step by name and no AWS or Pulumi type.",
      severity: "error",
      from: { path: "^src/orchestrator/" },
      to: { path: under("aws", "pulumi", "steps", "app", "cli") },
    },
    {
      name: "reporting-is-a-host",
      comment:
        "src/reporting holds the Reporter port and its hosts (terminal, CI log, JSON, GitHub, Slack): " +
        "the events carry what a host needs, so it imports nothing from steps/, app/ or cli/.",
      severity: "error",
      from: { path: "^src/reporting/" },
      to: { path: under("steps", "app", "cli") },
    },
    {
      name: "stacks-are-resources",
      comment:
        "src/stacks are Pulumi programs (resources and typed outputs only): they import nothing from " +
        "the orchestrator, the steps, the app or the CLI.",
      severity: "error",
      from: { path: "^src/stacks/" },
      to: { path: under("orchestrator", "steps", "app", "cli") },
    },
    {
      name: "checks-are-pure-ish",
      comment:
        "src/checks are evaluate(observation) functions and one deadline-bound poller: the steps call " +
        "them, never the other way round.",
      severity: "error",
      from: { path: "^src/checks/" },
      to: { path: under("steps", "app", "cli") },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports are dependencies too: they tie the layers together just the same.
    tsPreCompilationDeps: true,
    // Sources import each other with explicit `.ts` specifiers (Node's type stripping).
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
    skipAnalysisNotInRules: true,
  },
};
