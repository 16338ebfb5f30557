/**
 * `fuse-uapi layout <revision|schema> [struct...] [--target t]`: pahole-style
 * text of struct layouts from a committed revision or a schema file (resolved
 * as `fuse-uapi diff` does), per target. See ../report/pahole.ts for the form.
 * Bad input (unknown revision, struct or target) is an InputError → exit 2.
 */
import { resolveSchemaArg } from "../diff/resolve.js";
import { InputError } from "../errors.js";
import { type StructDef, type Target, TARGETS } from "../model.js";
import { paholeStruct, targetTotals } from "../report/pahole.js";
import { parseTargets } from "./check.js";

export interface LayoutCommandOptions {
  target: string[];
}

/** `struct fuse_attr`, `union x` or a bare name. */
function bareName(arg: string): string {
  return arg.replace(/^\s*(struct|union)\s+/, "").trim();
}

export function selectStructs(
  all: readonly StructDef[],
  names: readonly string[],
  label: string,
): StructDef[] {
  if (!names.length) return [...all];
  return names.map((arg) => {
    const def = all.find((s) => s.name === bareName(arg));
    if (!def)
      throw new InputError(
        `unknown struct '${arg}' in ${label} (known: ${all.map((s) => s.name).join(", ") || "none"})`,
      );
    return def;
  });
}

/** The text `fuse-uapi layout` prints. */
export function layoutText(
  schemaArg: string,
  structs: readonly string[],
  opts: LayoutCommandOptions,
): string {
  const picked = parseTargets(opts.target);
  const targets: Target[] = TARGETS.filter((t) => picked.includes(t));
  const { schema, label } = resolveSchemaArg(schemaArg);
  const defs = selectStructs(schema.structs, structs, label);
  const blocks = defs.map((d) => paholeStruct(d, targets));
  if (defs.length > 1) blocks.push(targetTotals(defs, targets).join("\n") + "\n");
  return blocks.join("\n");
}

export function layoutCommand(
  schemaArg: string,
  structs: string[],
  opts: LayoutCommandOptions,
): void {
  process.stdout.write(layoutText(schemaArg, structs, opts));
}
