/**
 * What a revision name may be. A revision name becomes a folder name
 * (`generated/<revision>/`, `schema/revisions/<revision>.json`), so it must be
 * one plain path component: never empty, `.`, `..`, or anything holding a
 * path separator. Checked where names enter (`schema --name`, schema files via
 * schema/fuse-uapi.schema.json, the registry) and again by `generate` before it
 * joins a name into an output path.
 */
import { InputError } from "./errors.js";

/** Longest name: a folder name plus the `.tmp-<name>-old-<hex>` of an atomic replace stays far below NAME_MAX. */
export const REVISION_NAME_MAX = 100;

/**
 * Letters, digits and `._+-`, starting with a letter or digit (so never `.`,
 * `..`, a dot file or an option-like `-x`). schema/fuse-uapi.schema.json
 * repeats this pattern for `source.revision` (test/generate-safety.test.ts
 * checks that they agree).
 */
export const REVISION_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+-]*$";
const REVISION_NAME_RE = new RegExp(REVISION_NAME_PATTERN);

export function isSafeRevisionName(name: unknown): name is string {
  return (
    typeof name === "string" && name.length <= REVISION_NAME_MAX && REVISION_NAME_RE.test(name)
  );
}

/** Throws InputError (exit 2) naming `what` unless `name` is a safe revision name. */
export function checkRevisionName(name: unknown, what: string): string {
  if (isSafeRevisionName(name)) return name;
  throw new InputError(
    `${what}: ${JSON.stringify(name)} is not a usable revision name (it names an output folder: ` +
      `1-${REVISION_NAME_MAX} letters, digits and ._+-, starting with a letter or digit)`,
  );
}
