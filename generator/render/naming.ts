/**
 * Names of generated identifiers. C names are kept where users cross-reference
 * the header (properties, constants, enum keys); C tags become PascalCase types
 * like bindgen/ts-proto do for messages. Every exported name is registered so a
 * clash is a clear render error instead of an obscure `export *` ambiguity.
 */
import { InputError } from "../errors.js";

/** `fuse_attr` -> `FuseAttr`; `__spare_x` -> `SpareX`. */
export function pascalCase(cName: string): string {
  const parts = cName.split(/_+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new InputError(`cannot derive a TypeScript name from ${JSON.stringify(cName)}`);
  const name = parts.map((p) => p[0]!.toUpperCase() + p.slice(1).toLowerCase()).join("");
  // Identifiers cannot start with a digit (a tag like `_1x` would).
  return /^[0-9]/.test(name) ? `C${name}` : name;
}

/** `fuse_opcode` -> `fuseOpcode`. */
export function camelCase(cName: string): string {
  const p = pascalCase(cName);
  return p[0]!.toLowerCase() + p.slice(1);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** One namespace: everything `index.ts` re-exports. */
export class ExportNames {
  private readonly owners = new Map<string, string>();

  /** Claims `name` for `what` (e.g. `structs.ts: struct fuse_attr`); throws on a clash. */
  claim(name: string, what: string): string {
    if (!isIdentifier(name)) throw new InputError(`${what}: ${JSON.stringify(name)} is not a valid identifier`);
    const owner = this.owners.get(name);
    if (owner !== undefined) {
      throw new InputError(`generated name ${name} is used twice: by ${owner} and by ${what}`);
    }
    this.owners.set(name, what);
    return name;
  }

  has(name: string): boolean {
    return this.owners.has(name);
  }
}
