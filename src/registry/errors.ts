/** The error of image resolution in a registry (src/registry/). */
import { GantryError, type GantryErrorOptions } from "../errors.ts";

/**
 * A registry could not say what a tag points at: unreachable (REGISTRY_UNREACHABLE), credentials
 * missing or refused (REGISTRY_AUTH), an answer gantry cannot use (REGISTRY_REFUSED), or no image
 * for the platform Fargate runs (WRONG_PLATFORM). One line naming the image; the hint says the fix.
 * The user's to act on by default: the image name or the credentials in the config are at fault.
 */
export class RegistryError extends GantryError {
  constructor(message: string, options: GantryErrorOptions) {
    super(message, { source: "user", ...options });
  }
}
