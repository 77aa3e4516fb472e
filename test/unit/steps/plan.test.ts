import { describe, expect, it } from "vitest";
import { planDeploy, planRollback, type PlannedStep } from "../../../src/steps/plan.ts";
import { type FakeContextOverrides, fakeDeployContext } from "../../fakes/context.ts";

/** `name` → [included, why] */
function table(plan: readonly PlannedStep[]): Record<string, [boolean, string]> {
  return Object.fromEntries(plan.map((p) => [p.step.name, [p.included, p.why]]));
}

const SNAPSHOT_ON: [boolean, string] = [true, "RDS snapshot, keep 3"];
const MIGRATE_ON: [boolean, string] = [true, "one-off task with web's image: npm run migrate"];
const NO_MIGRATION_COMMAND = { migration: { timeoutSeconds: 600 } };

describe("planDeploy", () => {
  it("GIVEN snapshots on and a migration command WHEN planned THEN every step is in, in deploy order", () => {
    const plan = planDeploy(fakeDeployContext());

    expect(plan.map((p) => [p.step.name, p.included])).toEqual([
      ["preflight", true],
      ["stack", true],
      ["snapshot", true],
      ["migrate", true],
      ["release", true],
      ["gates", true],
    ]);
    expect(table(plan).release?.[1]).toContain("undo = verified rollback");
    expect(table(plan).gates?.[1]).toContain("bake 0 s");
  });

  it("GIVEN a release of only the services the migration does not run with WHEN planned THEN the migration is skipped, saying why, and the release names the untouched services", () => {
    const plan = planDeploy(fakeDeployContext({ request: { targets: [{ name: "api", tag: "v2.0.0" }] } }));

    expect(table(plan).migrate).toEqual([
      false,
      "skipped (web, whose image runs the migration, is not released)",
    ]);
    expect(table(plan).release?.[1]).toContain("(api; unchanged: web)");
    expect(table(plan).preflight?.[1]).toMatch(/^api:v2\.0\.0 → digests/);
  });

  it("GIVEN gantry:migration.service names the released service WHEN planned THEN the migration runs with its image", () => {
    const plan = planDeploy(
      fakeDeployContext({
        gantry: { migration: { command: ["migrate"], service: "api" } },
        request: { targets: [{ name: "api", tag: "v2.0.0" }] },
      }),
    );

    expect(table(plan).migrate).toEqual([true, "one-off task with api's image: migrate"]);
  });

  describe.each<{
    given: string;
    overrides: FakeContextOverrides;
    snapshot: [boolean, string];
    migrate: [boolean, string];
  }>([
    {
      given: "--skip-snapshot",
      overrides: { request: { skipSnapshot: true } },
      snapshot: [false, "skipped (--skip-snapshot)"],
      migrate: MIGRATE_ON,
    },
    {
      given: "gantry:snapshot.enabled false",
      overrides: { gantry: { snapshot: { enabled: false } } },
      snapshot: [false, "off (gantry:snapshot.enabled false)"],
      migrate: MIGRATE_ON,
    },
    {
      given: "--skip-snapshot with snapshots off in config",
      overrides: { request: { skipSnapshot: true }, gantry: { snapshot: { enabled: false } } },
      snapshot: [false, "skipped (--skip-snapshot)"],
      migrate: MIGRATE_ON,
    },
    {
      given: "--skip-migrations",
      overrides: { request: { skipMigrations: true } },
      snapshot: SNAPSHOT_ON,
      migrate: [false, "skipped (--skip-migrations)"],
    },
    {
      given: "no gantry:migration.command",
      overrides: { gantry: NO_MIGRATION_COMMAND },
      snapshot: SNAPSHOT_ON,
      migrate: [false, "off (no gantry:migration.command)"],
    },
    {
      given: "--skip-snapshot and --skip-migrations",
      overrides: { request: { skipSnapshot: true, skipMigrations: true } },
      snapshot: [false, "skipped (--skip-snapshot)"],
      migrate: [false, "skipped (--skip-migrations)"],
    },
  ])("GIVEN $given", ({ overrides, snapshot, migrate }) => {
    it("WHEN planned THEN snapshot and migrate are in or out with the reason, and every other step stays in", () => {
      const plan = table(planDeploy(fakeDeployContext(overrides)));

      expect(plan.snapshot).toEqual(snapshot);
      expect(plan.migrate).toEqual(migrate);
      for (const name of ["preflight", "stack", "release", "gates"]) expect(plan[name]?.[0]).toBe(true);
    });
  });

  it("GIVEN --plan FILE WHEN planned THEN the stack step says the update is constrained to it", () => {
    const plan = table(planDeploy(fakeDeployContext({ request: { planFile: "sandbox.plan.json" } })));

    expect(plan.stack?.[1]).toBe(
      "pulumi up of the environment's stack, constrained to the saved plan sandbox.plan.json (--plan)",
    );
  });
});

describe("planRollback", () => {
  it("GIVEN a rollback WHEN planned THEN only preflight, release and gates run (no stack, snapshot or migration)", () => {
    expect(planRollback().map((p) => [p.step.name, p.included])).toEqual([
      ["preflight", true],
      ["release", true],
      ["gates", true],
    ]);
  });
});
