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
  if (parts.length === 0)
    throw new InputError(`cannot derive a TypeScript name from ${JSON.stringify(cName)}`);
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

/**
 * An identifier that also works as a plain key in an object literal. C allows
 * a member named `__proto__`; in `{ __proto__: x }` (quoted or not) it sets the
 * prototype instead of a property, so the value silently vanishes.
 */
export function isPlainKey(name: string): boolean {
  return isIdentifier(name) && name !== "__proto__";
}

/**
 * `name` as a property key in an object literal, interface or type literal:
 * bare where that is a plain own property, `["__proto__"]` (a computed key
 * creates an own property) for `__proto__`, quoted otherwise (e.g. a
 * non-ASCII C identifier). Templates print it unescaped (`{{{key}}}`).
 */
export function propertyKey(name: string): string {
  if (name === "__proto__") return `[${JSON.stringify(name)}]`;
  return isIdentifier(name) ? name : JSON.stringify(name);
}

/** Reading or writing property `name` of the expression `object`. */
export function propertyAccess(object: string, name: string): string {
  return isPlainKey(name) ? `${object}.${name}` : `${object}[${JSON.stringify(name)}]`;
}

/**
 * Names no generated module may export: JavaScript's reserved words (not
 * bindings at all; a C macro may be named `delete` or `class`), names strict
 * mode forbids, and globals the generated code uses or users expect (a struct
 * `data_view` would become `DataView` and shadow the one every codec takes).
 */
const RESERVED_EXPORTS = new Set([
  // ECMAScript reserved words and strict-mode/module restrictions
  "await",
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "debugger",
  "default",
  "delete",
  "do",
  "else",
  "enum",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "implements",
  "import",
  "in",
  "instanceof",
  "interface",
  "let",
  "new",
  "null",
  "package",
  "private",
  "protected",
  "public",
  "return",
  "static",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "var",
  "void",
  "while",
  "with",
  "yield",
  "eval",
  "arguments",
  "undefined",
  "NaN",
  "Infinity",
  "globalThis",
  // ES2022 globals and the TypeScript utility types generated code may name
  "Array",
  "ArrayBuffer",
  "Atomics",
  "BigInt",
  "BigInt64Array",
  "BigUint64Array",
  "Boolean",
  "DataView",
  "Date",
  "Error",
  "EvalError",
  "Float32Array",
  "Float64Array",
  "Function",
  "Int8Array",
  "Int16Array",
  "Int32Array",
  "Iterable",
  "IterableIterator",
  "Generator",
  "JSON",
  "Map",
  "Math",
  "Number",
  "Object",
  "Promise",
  "Proxy",
  "RangeError",
  "ReferenceError",
  "Reflect",
  "RegExp",
  "Set",
  "SharedArrayBuffer",
  "String",
  "Symbol",
  "SyntaxError",
  "TextDecoder",
  "TextEncoder",
  "TypeError",
  "URIError",
  "Uint8Array",
  "Uint8ClampedArray",
  "Uint16Array",
  "Uint32Array",
  "WeakMap",
  "WeakRef",
  "WeakSet",
  "ArrayLike",
  "Exclude",
  "Extract",
  "NonNullable",
  "Omit",
  "Parameters",
  "Partial",
  "Pick",
  "PropertyKey",
  "Readonly",
  "ReadonlyArray",
  "Record",
  "Required",
  "ReturnType",
]);

/** One namespace: everything `index.ts` re-exports. */
export class ExportNames {
  private readonly owners = new Map<string, string>();

  /** Claims `name` for `what` (e.g. `structs.ts: struct fuse_attr`); throws on a clash. */
  claim(name: string, what: string): string {
    if (!isIdentifier(name))
      throw new InputError(`${what}: ${JSON.stringify(name)} is not a valid identifier`);
    if (RESERVED_EXPORTS.has(name)) {
      throw new InputError(
        `${what}: ${name} cannot be exported by generated code (a JavaScript reserved word or a global it would shadow)`,
      );
    }
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
