/**
 * Builds the schema of one header: parse once, evaluate every constant on
 * every target, recognise helper macros, lint the ABI. Deterministic: the same
 * text gives the same schema, byte for byte, in header order.
 */
import {
  EvalError,
  evaluateExpanded,
  evaluateText,
  type ExprEnv,
  expandMacros,
  LimitError,
} from "./cexpr/evaluate.js";
import { type Token, TokenizeError, tokenize } from "./cexpr/tokens.js";
import { roundUp } from "./layout/layout.js";
import { HeaderError, InputError } from "./errors.js";
import { abiLint } from "./lint.js";
import { type ProtocolTable, resolveProtocol } from "./protocol.js";
import { unknownOpcodesError } from "./protocol-overlay.js";
import { gitBlobSha1, sha256 } from "./hash.js";
import {
  type ConstantDef,
  type ConstType,
  type MacroDef,
  PRIMARY_TARGET,
  type ProtocolInfo,
  SCHEMA_VERSION,
  type Schema,
  type SourceInfo,
  type Target,
  TARGETS,
} from "./model.js";
import { parseHeader, type RawConstant } from "./parse/header.js";
import type { DeclScope } from "./parse/scope.js";

export interface BuildOptions {
  /** File name recorded in the schema (a base name: schemas must not depend on where a checkout is). */
  file: string;
  /** Path to name in `file:line:col` errors; defaults to `file`. */
  errorPath?: string;
  revision?: string | null;
  patches?: { file: string; sha256: string }[];
  /**
   * Attach the protocol table fitted to this header. `required`: a table that
   * does not fit is an error (shipped revisions); otherwise it is left out and
   * `onProtocolProblems` hears why.
   */
  protocol?: {
    table: ProtocolTable;
    required: boolean;
    onProtocolProblems?: (problems: string[]) => void;
    /**
     * An opcode or notification code the table does not know is an error (a
     * messages.ts without it would be silently incomplete) unless `rawUnknownOpcodes`
     * (raw codecs, `onWarning` hears which) or `lenient` (only `check`, which proves
     * the layout and never renders messages: they are then reported as problems).
     */
    rawUnknownOpcodes?: boolean;
    lenient?: boolean;
    /** Where the error tells the user to describe unknown opcodes (an overlay file of theirs). */
    overlayHint?: string;
    onWarning?: (warning: string) => void;
  };
}

export async function buildSchema(text: string, opts: BuildOptions): Promise<Schema> {
  const parsed = await parseHeader(text, opts.errorPath ?? opts.file);
  const errorPath = opts.errorPath ?? opts.file;
  const constantNames = new Set(parsed.constants.map((c) => c.name));
  const envs = Object.fromEntries(TARGETS.map((t) => [t, parsed.scope.env(t)])) as Record<
    Target,
    ExprEnv
  >;
  const constants = parsed.constants.map((c) =>
    evaluateConstant(c, envs, constantNames, errorPath),
  );
  const num = (name: string) => {
    const v = constants.find((c) => c.name === name)?.value;
    return v == null ? null : Number(v);
  };
  const source: SourceInfo = {
    file: opts.file,
    sha256: sha256(text),
    gitBlob: gitBlobSha1(text),
    kernelVersion: num("FUSE_KERNEL_VERSION"),
    minorVersion: num("FUSE_KERNEL_MINOR_VERSION"),
    revision: opts.revision ?? null,
    patches: opts.patches ?? [],
  };
  const structs = parsed.structs;
  let protocol: ProtocolInfo | null = null;
  if (opts.protocol) {
    const r = resolveProtocol(
      opts.protocol.table,
      { enums: parsed.enums, structs, constants },
      { rawUnknown: opts.protocol.rawUnknownOpcodes === true },
    );
    if (r.unknown.length && !opts.protocol.lenient) {
      if (!opts.protocol.rawUnknownOpcodes)
        throw unknownOpcodesError(errorPath, r.unknown, opts.protocol.overlayHint);
      opts.protocol.onWarning?.(
        `${errorPath}: raw codecs (untyped bytes) for ${r.unknown.map((u) => `${u.name} (${u.value})`).join(", ")}: not in the protocol table`,
      );
    }
    if (r.problems.length && opts.protocol.required)
      throw new InputError(
        `${opts.errorPath ?? opts.file}: the protocol table does not fit this header:\n  ${r.problems.join("\n  ")}`,
      );
    if (r.problems.length) opts.protocol.onProtocolProblems?.(r.problems);
    protocol = r.protocol;
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    source,
    includes: parsed.includes,
    typedefs: parsed.typedefs,
    structs: parsed.structs,
    enums: parsed.enums,
    constants,
    macros: parsed.macros.map((m) => withHelper(m, parsed.scope)),
    lint: abiLint(parsed.structs),
    ...(protocol ? { protocol } : {}),
  };
}

function evaluateConstant(
  c: RawConstant,
  envs: Record<Target, ExprEnv>,
  constantNames: ReadonlySet<string>,
  errorPath: string,
): ConstantDef {
  const base: ConstantDef = {
    name: c.name,
    value: null,
    type: null,
    expression: c.body,
    ...(c.doc ? { doc: c.doc } : {}),
    pos: c.pos,
  };
  if (/^[A-Za-z_]\w*$/.test(c.body) && constantNames.has(c.body)) base.aliasOf = c.body;
  const values: Partial<Record<Target, string | null>> = {};
  const types: Partial<Record<Target, ConstType | null>> = {};
  // Tokenized and expanded once (both are the same on every target), evaluated per target.
  let expanded: Token[] | null = null;
  let failure: unknown = null;
  try {
    expanded = expandMacros(tokenize(c.body), envs[PRIMARY_TARGET]);
  } catch (e) {
    failure = e;
  }
  for (const target of TARGETS) {
    try {
      if (failure !== null) throw failure;
      const v = evaluateExpanded(expanded!, envs[target]);
      values[target] = v.v.toString();
      types[target] = v.t.name;
    } catch (e) {
      // Too deep or too big to evaluate is not "no value": the header is refused, pointing at the #define.
      if (e instanceof LimitError)
        throw new HeaderError(
          errorPath,
          c.pos.line,
          c.pos.column,
          `in #define ${c.name}: ${e.message}`,
        );
      if (!(e instanceof EvalError || e instanceof TokenizeError)) throw e;
      // Not an integer on this target (e.g. needs PAGE_SIZE, is a string, or overflows ILP32): no value there.
      values[target] = null;
      types[target] = null;
      if (target === PRIMARY_TARGET || !base.unresolved)
        base.unresolved = e instanceof EvalError && e.unresolved ? e.unresolved : e.message;
    }
  }
  base.value = values[PRIMARY_TARGET] ?? null;
  base.type = types[PRIMARY_TARGET] ?? null;
  const valueDiffers = TARGETS.filter((t) => values[t] !== base.value);
  if (valueDiffers.length)
    base.targetValues = Object.fromEntries(valueDiffers.map((t) => [t, values[t] ?? null]));
  const typeDiffers = TARGETS.filter((t) => types[t] !== base.type);
  if (typeDiffers.length)
    base.targetTypes = Object.fromEntries(typeDiffers.map((t) => [t, types[t] ?? null]));
  // Unresolved only explains a value that is missing somewhere.
  if (!TARGETS.some((t) => values[t] === null)) delete base.unresolved;
  return orderKeys(base);
}

/** Keep a stable key order in the JSON whatever order fields were set in. */
function orderKeys(c: ConstantDef): ConstantDef {
  const {
    name,
    value,
    type,
    targetValues,
    targetTypes,
    expression,
    unresolved,
    aliasOf,
    doc,
    pos,
  } = c;
  return {
    name,
    value,
    type,
    ...(targetValues ? { targetValues } : {}),
    ...(targetTypes ? { targetTypes } : {}),
    expression,
    ...(unresolved ? { unresolved } : {}),
    ...(aliasOf ? { aliasOf } : {}),
    ...(doc ? { doc } : {}),
    pos,
  };
}

/**
 * Recognise an alignment helper by what it computes, not by its name: a
 * one-parameter macro that maps x to x rounded up to a power of two N for
 * every x in 0..4N.
 */
function withHelper(m: MacroDef, scope: DeclScope): MacroDef {
  if (m.params.length !== 1) return m;
  const env = scope.env(PRIMARY_TARGET);
  const at = (x: number): number | null => {
    try {
      return Number(evaluateText(`${m.name}(${x})`, env).v);
    } catch {
      return null;
    }
  };
  const n = at(1);
  if (n === null || n < 1 || (n & (n - 1)) !== 0 || at(0) !== 0) return m;
  for (let x = 0; x <= 4 * n; x++) if (at(x) !== roundUp(x, n)) return m;
  return {
    name: m.name,
    params: m.params,
    body: m.body,
    helper: { kind: "align", alignment: n },
    ...(m.doc ? { doc: m.doc } : {}),
    pos: m.pos,
  };
}
