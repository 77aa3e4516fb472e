/** Engine failures as the Automation API reports them, for the classifier and adapter tests. */
import * as automation from "@pulumi/pulumi/automation/index.js";

/** The SDK's internal constructor of a failed command's error (it picks the subclass from stderr). */
const sdk = automation as unknown as {
  CommandResult: new (stdout: string, stderr: string, code: number) => unknown;
  createCommandError: (result: unknown) => Error;
};

/** A failed `pulumi` command as the Automation API reports it. */
export function failedCommand(stdout: string, stderr = ""): Error {
  return sdk.createCommandError(new sdk.CommandResult(stdout, stderr, 255));
}

/**
 * What `pulumi up` (v3.259) prints when it gets one SIGINT, on a stack an earlier update left with
 * a pending operation: the engine's warning about it, then its cancellation.
 */
export const CANCELLED_UP = [
  "Updating (sandbox):",
  " +  pulumi:pulumi:Stack platform-sandbox creating (0s) ",
  "^C received; cancelling. If you would like to terminate immediately, press ^C again.",
  "Note that terminating immediately may lead to orphaned resources and other inconsistencies.",
  " +  pulumi:pulumi:Stack platform-sandbox creating (1s) error: update canceled",
  " +  pulumi:pulumi:Stack platform-sandbox **creating failed (1s)** 1 error",
  "Diagnostics:",
  "  pulumi:pulumi:Stack (platform-sandbox):",
  "    warning: Attempting to deploy or update resources with 1 pending operations from previous deployment.",
  "      * urn:pulumi:sandbox::platform::pulumi-nodejs:dynamic:Resource::web, interrupted while creating",
  "    error: update canceled",
].join("\n");

/** What a file backend answers while another process holds the stack's lock. */
export const LOCKED =
  "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.";
