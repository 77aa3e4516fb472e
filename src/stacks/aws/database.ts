/**
 * The database: RDS PostgreSQL in the private subnets, encrypted, never public, reachable only
 * through the tasks' security group (see network.ts), its master password generated and kept in
 * Secrets Manager by RDS (`manageMasterUserPassword`). Size, backups and protection from config.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GantryError } from "../../errors.ts";
import { POSTGRES_PORT } from "./network.ts";
import type { AwsSettings } from "./settings.ts";

/** Inputs of {@link Database}. */
export interface DatabaseArgs {
  readonly database: AwsSettings["database"];
  readonly privateSubnetIds: pulumi.Input<string[]>;
  readonly securityGroupId: pulumi.Input<string>;
}

/** The environment's PostgreSQL instance. */
export class Database extends pulumi.ComponentResource {
  readonly instance: aws.rds.Instance;
  /** DB instance identifier (`gantry-<env>-db`). */
  readonly identifier: pulumi.Output<string>;
  readonly address: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  /** ARN of the Secrets Manager secret holding `{"username", "password"}` of the master user. */
  readonly masterSecretArn: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:Database", name, {}, opts);
    const db = args.database;
    const subnets = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { subnetIds: args.privateSubnetIds, description: `private subnets of ${db.identifier}` },
      { parent: this },
    );
    this.instance = new aws.rds.Instance(
      `${name}-instance`,
      {
        identifier: db.identifier,
        engine: "postgres",
        engineVersion: db.engineVersion,
        instanceClass: db.instanceClass,
        allocatedStorage: db.allocatedStorage,
        storageType: "gp3",
        storageEncrypted: true,
        publiclyAccessible: false,
        multiAz: db.multiAz,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        port: POSTGRES_PORT,
        dbName: db.dbName,
        username: db.masterUsername,
        manageMasterUserPassword: true,
        backupRetentionPeriod: db.backupRetentionDays,
        backupWindow: db.backupWindow,
        maintenanceWindow: db.maintenanceWindow,
        copyTagsToSnapshot: true,
        deletionProtection: db.deletionProtection,
        skipFinalSnapshot: !db.finalSnapshot,
        ...(db.finalSnapshot ? { finalSnapshotIdentifier: db.finalSnapshotIdentifier } : {}),
        autoMinorVersionUpgrade: true,
        // Changes wait for the maintenance window unless a human applies them.
        applyImmediately: false,
      },
      { parent: this },
    );
    this.identifier = this.instance.identifier;
    this.address = this.instance.address;
    this.port = this.instance.port;
    this.masterSecretArn = this.instance.masterUserSecrets.apply((secrets) => {
      const arn = secrets[0]?.secretArn;
      if (arn) return arn;
      throw new GantryError(`RDS reported no managed master user secret for ${db.identifier}`, {
        code: "RDS_MASTER_SECRET_MISSING",
        hint: "check the instance in the RDS console, then run `pulumi refresh` on this stack",
      });
    });
    this.registerOutputs({ identifier: this.identifier });
  }
}
