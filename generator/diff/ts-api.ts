/**
 * The TypeScript API diff: what the generated code of one revision exports
 * (everything `index.ts` re-exports) against another, read with ts-morph's type
 * checker. The C ABI diff (./index.ts) says what changes on the wire; this says
 * what changes for code that imports `fuse-uapi/revisions/<name>`.
 *
 * Both revisions (and their shared runtime) are loaded into ONE in-memory
 * program, so the checker can relate a type of the old revision to the type of
 * the same name in the new one (`isTypeAssignableTo`, both directions). Nothing
 * is written to disk and no declarations need emitting: the checker gives the
 * types declarations would carry.
 *
 * Each exported name has a value meaning (const, function, class constructor),
 * a type meaning (interface, type alias, class instance type), or both (a
 * struct is an interface plus a const with SIZE/OFFSETS; an enum is a const
 * object plus a union type). Rules, per meaning:
 *
 *  - export added: compatible. Export removed: breaking (imports of it fail).
 *    A meaning added: compatible; a meaning removed: breaking.
 *  - value meaning (code reads the value, calls the function, constructs the
 *    class): compatible iff the new type is assignable to the old one, so every
 *    read or call that type-checked against the old declaration still does
 *    (a const object gaining a member, a parameter type widening). Two
 *    exceptions: a parameter whose object type lost a property is breaking
 *    though assignable (an object literal written with it fails TypeScript's
 *    excess property check: `encodeFuseCompoundIn({ count, ... })` once `count` is gone), and
 *    a change that only adds enum-like literal members or optional members
 *    (a return type gaining a flag name) is compatible though not assignable,
 *    as the same change of a type is. A const whose literal type changes
 *    (`FUSE_COMPOUND_ATOMIC` 2 → 4) is breaking: its value is its type.
 *  - type meaning (code both builds values of it and reads them):
 *      both directions assignable → no change, except that optional members
 *        or parameters added are listed as compatible (a re-spelling is not
 *        reported);
 *      only old → new (widened) → compatible when it only gained literal union
 *        members or optional properties (values written against the old type
 *        still fit; an exhaustive switch needs the new case), otherwise
 *        breaking (`number` → `number | bigint` breaks arithmetic on it);
 *      only new → old (narrowed, e.g. a required property added) or neither →
 *        breaking: values built against the old type no longer fit.
 *  Each change says where it happens ("returns: count removed", "parameter
 *  value: count removed", "[FuseCompoundRequest] compound_in.count removed"),
 *  and a type that reads the same on both sides names the changed exports it
 *  refers to.
 *
 * Limits, said where they matter: methods are compared bivariantly by
 * TypeScript itself (a method parameter that narrowed may pass); generic types
 * are compared with their type parameters left open (one shared parameter per
 * position, through a probe interface) and, where TypeScript cannot relate the
 * open forms, declared equal when their declarations and everything they refer
 * to read the same (SameText); a change visible only for some instantiation can
 * be missed. ECMAScript-private (`#x`) and `private`/`protected` members are not
 * API, and would make two copies of one class nominally distinct, so they are
 * made optional public members before checking and ignored (a consumer moves
 * all its imports at once, so it never mixes two revisions' classes).
 *
 * Cost: a few seconds and a few hundred MB per pair (two revisions of ~19k lines
 * each in one checker); `compareApiPairs` loads each revision once for many pairs.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Project, ts } from "ts-morph";
import { InputError } from "../errors.js";
import type { Schema } from "../model.js";
import { renderRevision } from "../render/index.js";
import {
  SHARED_RUNTIME_DIR,
  renderSharedRuntime,
  usesSharedRuntime,
} from "../render/shared-runtime.js";
import { repoRoot } from "../revisions/registry.js";
import { TOOL_VERSION } from "../version.js";
import type { Severity } from "./change.js";

export type TsChangeKind =
  | "ts-export-removed"
  | "ts-meaning-removed"
  | "ts-value-type-changed"
  | "ts-type-changed"
  | "ts-meaning-added"
  | "ts-export-added";

/** Same fields as an ABI `Change` (JSON consumers see one array), `kind` prefixed `ts-`. */
export interface TsApiChange {
  kind: TsChangeKind;
  /** The exported name. */
  subject: string;
  detail: string;
  severity: Severity;
  reason: string;
}

/** One revision's generated TypeScript: its folder's files and the shared runtime it imports. */
export interface ApiSource {
  label: string;
  /** File name → text of the revision folder; must hold `index.ts`. */
  files: ReadonlyMap<string, string>;
  /** File name → text of `_runtime/` (empty when the revision has no compound module). */
  runtime: ReadonlyMap<string, string>;
}

/** A provable rename candidate: one removed and one added export, same declaration kinds, identical types. */
export interface RenameCandidate {
  from: string;
  to: string;
  /** The declaration kinds and the type both have, e.g. "const: 7". */
  proof: string;
}

export interface TsApiDiff {
  changes: TsApiChange[];
  /** Removed exports that map one-to-one onto added exports of identical type (see compareApis). */
  renames: RenameCandidate[];
  /** Every export of each side: name → declaration kinds ("interface+const"). */
  oldExports: Map<string, string>;
  newExports: Map<string, string>;
}

// ---------------------------------------------------------------------------
// Sources

function readFolder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort())
    out.set(f, readFileSync(join(dir, f), "utf8"));
  return out;
}

/** generated/<name>/ of this checkout and the generated/_runtime/ it imports. */
export function generatedApiSource(
  name: string,
  generatedDir = join(repoRoot(), "generated"),
): ApiSource {
  const dir = join(generatedDir, name);
  if (!existsSync(join(dir, "index.ts")))
    throw new InputError(
      `no generated TypeScript for revision '${name}' (${join(dir, "index.ts")} is missing; run \`fuse-uapi generate\`)`,
    );
  const files = readFolder(dir);
  const runtimeDir = join(generatedDir, SHARED_RUNTIME_DIR);
  return {
    label: name,
    files,
    runtime:
      usesSharedRuntime(files) && existsSync(runtimeDir) ? readFolder(runtimeDir) : new Map(),
  };
}

/** A schema rendered in memory, as `generate` would write it (nothing touches the disk). */
export async function renderedApiSource(schema: Schema, label: string): Promise<ApiSource> {
  const files = await renderRevision(schema, { toolVersion: TOOL_VERSION });
  return {
    label,
    files,
    runtime: usesSharedRuntime(files) ? await renderSharedRuntime(TOOL_VERSION) : new Map(),
  };
}

/** A revision name, as resolveSchemaArg reads one (no slash, no `.json`). */
export function isRevisionName(arg: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(arg) && !arg.endsWith(".json");
}

/** A diff argument: a revision name reads generated/<name>/, a schema file is rendered. */
export async function apiSourceForArg(
  arg: string,
  resolved: { schema: Schema; label: string },
): Promise<ApiSource> {
  return isRevisionName(arg)
    ? generatedApiSource(arg)
    : renderedApiSource(resolved.schema, resolved.label);
}

// ---------------------------------------------------------------------------
// Loading

const PRIVATE_PREFIX = "__private_";

/**
 * Private state is not API, but TypeScript relates classes with private members nominally,
 * which would make every class of two revisions differ. So before checking: `#x` becomes
 * `__private_x`, `private`/`protected` modifiers go, and such members become optional
 * (`__private_x?: T`): an optional property one side lacks does not stop assignability either
 * way, and explanations skip the prefix. A `private` parameter property becomes a plain
 * parameter. Types keep working: `this.__private_x` still has its type (plus `undefined`,
 * which only adds diagnostics nobody reads).
 */
export function publicizePrivates(text: string, fileName: string): string {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits: { start: number; end: number; text: string }[] = [];
  const hidden = (m: ts.ModifierLike) =>
    m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword;
  const visit = (node: ts.Node): void => {
    if (ts.isPrivateIdentifier(node))
      edits.push({
        start: node.getStart(sf),
        end: node.end,
        text: PRIVATE_PREFIX + node.text.slice(1),
      });
    if (
      (ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node)) &&
      (ts.isPrivateIdentifier(node.name) || node.modifiers?.some(hidden))
    ) {
      const bang = ts.isPropertyDeclaration(node) ? node.exclamationToken : undefined;
      if (bang) edits.push({ start: bang.getStart(sf), end: bang.end, text: "?" });
      else if (!node.questionToken)
        edits.push({ start: node.name.end, end: node.name.end, text: "?" });
    }
    const modifiers = ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : [];
    if (modifiers.some(hidden)) {
      // A parameter property loses all its modifiers (readonly too): it is a plain parameter then.
      const drop = ts.isParameter(node) ? modifiers : modifiers.filter(hidden);
      for (const m of drop) edits.push({ start: m.getStart(sf), end: m.end, text: "" });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ["lib.es2022.d.ts"],
  types: [],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};

interface Loaded {
  project: Project;
  checker: ts.TypeChecker;
  /** Folder of each source in the in-memory file system. */
  dirs: string[];
}

/** Exported generic types of a source (its folder and runtime): name → its type parameters' names. */
function genericArity(project: Project, dir: string, runtimeDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const sf of project.getSourceFiles([`${dir}/*.ts`, `${runtimeDir}/*.ts`])) {
    for (const d of [...sf.getInterfaces(), ...sf.getTypeAliases(), ...sf.getClasses()]) {
      const name = d.getName();
      const params = d.getTypeParameters().map((p) => p.getName());
      if (name && params.length > 0 && d.isExported()) out.set(name, params);
    }
  }
  return out;
}

/**
 * All sources in one program. Sources with the same shared runtime share one copy of it
 * (r<k>/_runtime/), so their compound engine types are the same declarations.
 */
function load(
  sources: readonly ApiSource[],
  pairs: readonly (readonly [number, number])[],
): Loaded & { arity: Map<string, string[]>[] } {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: COMPILER_OPTIONS,
    skipFileDependencyResolution: true,
  });
  const fs = project.getFileSystem();
  fs.writeFileSync("/api/package.json", '{ "type": "module" }\n');
  const runtimeGroups = new Map<string, number>();
  const dirs: string[] = [];
  const runtimeDirs: string[] = [];
  sources.forEach((s, i) => {
    const key = [...s.runtime].map(([f, t]) => `${f}\0${t}`).join("\0\0");
    let group = runtimeGroups.get(key);
    if (group === undefined) {
      group = runtimeGroups.size;
      runtimeGroups.set(key, group);
      for (const [f, t] of s.runtime)
        project.createSourceFile(
          `/api/r${group}/${SHARED_RUNTIME_DIR}/${f}`,
          publicizePrivates(t, f),
        );
    }
    const dir = `/api/r${group}/s${i}`;
    if (!s.files.has("index.ts"))
      throw new InputError(`${s.label}: the generated folder has no index.ts`);
    for (const [f, t] of s.files) project.createSourceFile(`${dir}/${f}`, publicizePrivates(t, f));
    dirs.push(dir);
    runtimeDirs.push(`/api/r${group}/${SHARED_RUNTIME_DIR}`);
  });
  const arity = sources.map((_, i) => genericArity(project, dirs[i], runtimeDirs[i]));
  // Probes relate generic types with their parameters left open: one interface per generic
  // name whose properties are the old and the new type applied to the same parameters.
  for (const [i, j] of pairs) {
    const lines = [
      `import type * as __a from ".${dirs[i].slice("/api".length)}/index.js";`,
      `import type * as __b from ".${dirs[j].slice("/api".length)}/index.js";`,
    ];
    for (const [name, names] of arity[i]) {
      if (arity[j].get(name)?.length !== names.length) continue;
      // The old declaration's parameter names, so explanations read like the source.
      const params = names.join(", ");
      lines.push(
        `export interface __P_${name}<${params}> { a: __a.${name}<${params}>; b: __b.${name}<${params}>; }`,
      );
    }
    project.createSourceFile(probePath(i, j), lines.join("\n") + "\n");
  }
  project.resolveSourceFileDependencies();
  return { project, checker: project.getTypeChecker().compilerObject, dirs, arity };
}

const probePath = (i: number, j: number) => `/api/probe-${i}-${j}.ts`;

// ---------------------------------------------------------------------------
// Export tables

interface ExportInfo {
  name: string;
  symbol: ts.Symbol;
  /** Declaration kinds in a fixed order, e.g. ["interface", "const"]. */
  kinds: string[];
  valueKind?: string;
  typeKind?: string;
  value?: ts.Type;
  type?: ts.Type;
  generic: boolean;
}

const KIND_ORDER = [
  "interface",
  "type",
  "class",
  "enum",
  "namespace",
  "function",
  "const",
  "let",
  "var",
];

function declKind(d: ts.Declaration): string | undefined {
  if (ts.isInterfaceDeclaration(d)) return "interface";
  if (ts.isTypeAliasDeclaration(d)) return "type";
  if (ts.isClassDeclaration(d)) return "class";
  if (ts.isEnumDeclaration(d)) return "enum";
  if (ts.isModuleDeclaration(d)) return "namespace";
  if (ts.isFunctionDeclaration(d)) return "function";
  if (ts.isVariableDeclaration(d)) {
    const flags = ts.getCombinedNodeFlags(d);
    return flags & ts.NodeFlags.Const ? "const" : flags & ts.NodeFlags.Let ? "let" : "var";
  }
  return undefined;
}

function exportTable(l: Loaded, i: number, arity: Map<string, string[]>): Map<string, ExportInfo> {
  const { checker } = l;
  const sf = l.project.getSourceFileOrThrow(`${l.dirs[i]}/index.ts`).compilerNode;
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  const out = new Map<string, ExportInfo>();
  if (!moduleSymbol) return out;
  for (const s of checker.getExportsOfModule(moduleSymbol)) {
    const r = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    const decls = r.declarations ?? [];
    const kinds = [...new Set(decls.map(declKind).filter((k): k is string => !!k))].sort(
      (a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b),
    );
    const info: ExportInfo = { name: s.name, symbol: r, kinds, generic: arity.has(s.name) };
    if (r.flags & ts.SymbolFlags.Value) {
      info.value = checker.getTypeOfSymbol(r);
      info.valueKind =
        kinds.find((k) =>
          ["class", "enum", "namespace", "function", "const", "let", "var"].includes(k),
        ) ?? "value";
    }
    if (r.flags & ts.SymbolFlags.Type) {
      info.type = checker.getDeclaredTypeOfSymbol(r);
      info.typeKind =
        kinds.find((k) => ["interface", "type", "class", "enum"].includes(k)) ?? "type";
    }
    out.set(s.name, info);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Comparing

const TEXT_FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.InTypeAlias |
  ts.TypeFormatFlags.WriteArrowStyleSignature;
const MAX_ITEMS = 6;
const SHORT = 90;

/** Why two types differ: short items, and what kind of difference it is. */
interface Explanation {
  items: string[];
  /** Every difference is a compatible widening: union members or optional properties gained. */
  onlyWidened: boolean;
  /** A property is gone somewhere inside: an object literal written with it now fails TypeScript's excess property check. */
  lostProperty: boolean;
}

function merge(xs: Explanation[]): Explanation {
  return {
    items: xs.flatMap((x) => x.items),
    onlyWidened: xs.every((x) => x.onlyWidened),
    lostProperty: xs.some((x) => x.lostProperty),
  };
}

/** `compound_in.` → `compound_in: `; `returns: ` stays. */
function lead(path: string): string {
  return path.endsWith(".") ? `${path.slice(0, -1)}: ` : path;
}

class Comparer {
  constructor(private readonly checker: ts.TypeChecker) {}

  text(t: ts.Type): string {
    return this.checker.typeToString(t, undefined, TEXT_FLAGS);
  }

  assignable(a: ts.Type, b: ts.Type): boolean {
    return this.checker.isTypeAssignableTo(a, b);
  }

  same(a: ts.Type, b: ts.Type): boolean {
    // Type parameters of the two sides' signatures are distinct types; the same name in the same place is the same parameter.
    if (a.flags & ts.TypeFlags.TypeParameter && b.flags & ts.TypeFlags.TypeParameter)
      return this.text(a) === this.text(b);
    return a === b || (this.assignable(a, b) && this.assignable(b, a));
  }

  private callable(t: ts.Type): boolean {
    return t.getCallSignatures().length > 0 || t.getConstructSignatures().length > 0;
  }

  /**
   * An object type worth opening: declared by the generated code or written inline, not an
   * array, tuple or library type (Uint8Array, Map, Promise: their members are not ours).
   */
  private ownObject(t: ts.Type): boolean {
    if (!(t.flags & ts.TypeFlags.Object) || t.isUnion() || this.callable(t)) return false;
    if (this.checker.isArrayType(t) || this.checker.isTupleType(t)) return false;
    const decls = (t.aliasSymbol ?? t.getSymbol())?.declarations ?? [];
    return decls.every((d) => d.getSourceFile().fileName.startsWith("/api/"));
  }

  /** A union member by its text when short, else by its first literal-typed property (the discriminant). */
  private memberLabel(t: ts.Type, text: string): string {
    if (text.length <= 40 || !(t.flags & ts.TypeFlags.Object)) return short(text);
    for (const p of this.checker.getPropertiesOfType(t)) {
      const pt = this.checker.getTypeOfSymbol(p);
      if (pt.isLiteral() || pt.flags & ts.TypeFlags.BooleanLiteral || pt.flags & ts.TypeFlags.Null)
        return `${p.name}: ${this.text(pt)}`;
    }
    return short(text);
  }

  private props(t: ts.Type): Map<string, ts.Symbol> {
    return new Map(
      this.checker
        .getPropertiesOfType(t)
        .filter((p) => !p.name.startsWith(PRIVATE_PREFIX))
        .map((p) => [p.name, p]),
    );
  }

  /**
   * Why `a` (old) and `b` (new) differ, as short items: "count removed",
   * "SIZE: 24 → 16", "gained \"X\"", "returns: count removed". Object properties,
   * union members of the same name, and signature parameters are followed a few
   * levels deep, so a change is named where it happens. `isValue`: properties of
   * a value are only read, so an added one is not "required".
   */
  explain(a: ts.Type, b: ts.Type, isValue: boolean, path = "", depth = 0): Explanation {
    if (depth > 3) return this.fallback(path, a, b);
    if (this.callable(a) && this.callable(b))
      return this.explainSignatures(a, b, isValue, path, depth);
    if (this.ownObject(a) && this.ownObject(b))
      return this.explainObject(a, b, isValue, path, depth);
    if (
      this.checker.isArrayType(a) &&
      this.checker.isArrayType(b) &&
      this.text(a).startsWith("readonly ") === this.text(b).startsWith("readonly ")
    ) {
      const [ea] = this.checker.getTypeArguments(a as ts.TypeReference);
      const [eb] = this.checker.getTypeArguments(b as ts.TypeReference);
      const elements = path.endsWith(": ")
        ? `${path.slice(0, -2)}[]: `
        : `${path.replace(/\.$/, "")}[].`;
      if (ea && eb) return this.explain(ea, eb, isValue, elements, depth + 1);
    }
    const unionish = (t: ts.Type) =>
      t.isUnion() ||
      t.isLiteral() ||
      !!(t.flags & (ts.TypeFlags.BooleanLiteral | ts.TypeFlags.Never));
    if (unionish(a) || unionish(b)) {
      // `never` is the union of no members.
      const membersOf = (t: ts.Type) =>
        t.isUnion() ? t.types : t.flags & ts.TypeFlags.Never ? [] : [t];
      const ma = membersOf(a);
      const mb = membersOf(b);
      const ta = ma.map((m) => this.text(m));
      const tb = mb.map((m) => this.text(m));
      const gone = ta.filter((m) => !tb.includes(m));
      const gained = tb.filter((m) => !ta.includes(m));
      if (ma.length === 1 && mb.length === 1 && (gone.length || gained.length))
        return this.fallback(path, a, b);
      if (!ma.length && !mb.length) return this.fallback(path, a, b);
      if (gone.length || gained.length) {
        const items = [
          ...(gone.length ? [`${lead(path)}lost ${list(gone)}`] : []),
          ...(gained.length ? [`${lead(path)}gained ${list(gained)}`] : []),
        ];
        // Only literal members gained (enum-like): a switch needs a case. `number` → `number | bigint` breaks arithmetic.
        const literal = (m: ts.Type) =>
          m.isLiteral() ||
          !!(m.flags & (ts.TypeFlags.BooleanLiteral | ts.TypeFlags.UniqueESSymbol));
        const gainedLiteralsOnly = mb.filter((m, k) => !ta.includes(tb[k])).every(literal);
        return {
          items,
          onlyWidened: gone.length === 0 && gainedLiteralsOnly && this.assignable(a, b),
          lostProperty: false,
        };
      }
      // Same members by name: the change is inside some of them.
      const inner = ma.flatMap((m, k) => {
        const n = mb[tb.indexOf(ta[k])];
        if (this.same(m, n)) return [];
        const sub = this.explain(
          m,
          n,
          isValue,
          `${path}[${this.memberLabel(m, ta[k])}] `,
          depth + 1,
        );
        // "[X] X (changed)" says nothing the plain form does not.
        return sub.items.length === 1 && sub.items[0].endsWith(`] ${short(ta[k])} (changed)`)
          ? [this.fallback(path, m, n)]
          : [sub];
      });
      if (inner.length) return merge(inner);
    }
    return this.fallback(path, a, b);
  }

  private explainObject(
    a: ts.Type,
    b: ts.Type,
    isValue: boolean,
    path: string,
    depth: number,
  ): Explanation {
    const pa = this.props(a);
    const pb = this.props(b);
    const parts: Explanation[] = [];
    for (const [name, p] of pa) {
      const q = pb.get(name);
      if (!q) {
        parts.push({ items: [`${path}${name} removed`], onlyWidened: false, lostProperty: true });
        continue;
      }
      const optA = !!(p.flags & ts.SymbolFlags.Optional);
      const optB = !!(q.flags & ts.SymbolFlags.Optional);
      if (optA !== optB)
        parts.push({
          items: [`${path}${name} became ${optB ? "optional" : "required"}`],
          onlyWidened: false,
          lostProperty: false,
        });
      const ta = this.checker.getTypeOfSymbol(p);
      const tb = this.checker.getTypeOfSymbol(q);
      if (this.same(ta, tb)) continue;
      parts.push(this.explain(ta, tb, isValue, `${path}${name}.`, depth + 1));
    }
    for (const [name, q] of pb) {
      if (pa.has(name)) continue;
      const optional = !!(q.flags & ts.SymbolFlags.Optional);
      const t = this.text(this.checker.getTypeOfSymbol(q));
      const note = isValue ? "" : optional ? "" : " (required)";
      parts.push({
        items: [`${path}${name}${optional ? "?" : ""}: ${short(t)} added${note}`],
        onlyWidened: isValue || optional,
        lostProperty: false,
      });
    }
    return parts.length ? merge(parts) : this.fallback(path, a, b);
  }

  private explainSignatures(
    a: ts.Type,
    b: ts.Type,
    isValue: boolean,
    path: string,
    depth: number,
  ): Explanation {
    const sa = [...a.getCallSignatures(), ...a.getConstructSignatures()];
    const sb = [...b.getCallSignatures(), ...b.getConstructSignatures()];
    if (sa.length !== 1 || sb.length !== 1) return this.fallback(path, a, b);
    const [x, y] = [sa[0], sb[0]];
    const parts: Explanation[] = [];
    const px = x.getParameters();
    const py = y.getParameters();
    for (let k = 0; k < Math.max(px.length, py.length); k++) {
      const p = px[k];
      const q = py[k];
      if (!q) {
        parts.push({
          items: [`${path}parameter ${p.name} removed`],
          onlyWidened: false,
          lostProperty: false,
        });
        continue;
      }
      if (!p) {
        const optional = !!(
          q.valueDeclaration &&
          ts.isParameter(q.valueDeclaration) &&
          (q.valueDeclaration.questionToken || q.valueDeclaration.initializer)
        );
        parts.push({
          items: [`${path}parameter ${q.name}${optional ? "?" : ""} added`],
          onlyWidened: optional,
          lostProperty: false,
        });
        continue;
      }
      const ta = this.checker.getTypeOfSymbol(p);
      const tb = this.checker.getTypeOfSymbol(q);
      if (!this.same(ta, tb))
        parts.push(this.explain(ta, tb, false, `${path}parameter ${q.name}: `, depth + 1));
    }
    const ra = x.getReturnType();
    const rb = y.getReturnType();
    if (!this.same(ra, rb)) {
      const sub = this.explain(ra, rb, true, `${path}returns: `, depth + 1);
      parts.push({ ...sub, lostProperty: false });
    }
    return parts.length ? merge(parts) : this.fallback(path, a, b);
  }

  /**
   * Optional members or parameters added to types that are still assignable both ways
   * (`{ a }` → `{ a; b? }`, `(a) => r` → `(a, b?) => r`): no difference TypeScript enforces,
   * but new API worth listing. Looked for only when the shapes differ in size or text.
   */
  additions(a: ts.Type, b: ts.Type, isValue: boolean): string[] {
    const size = (t: ts.Type) =>
      `${this.checker.getPropertiesOfType(t).length}/${t
        .getCallSignatures()
        .map((s) => s.getParameters().length)
        .join(",")}`;
    if (size(a) === size(b) && this.text(a) === this.text(b)) return [];
    return this.explain(a, b, isValue).items.filter((i) =>
      / added( \(required\))?$|(^|: )gained /.test(i),
    );
  }

  /** "name: 2 → 4", or "name: FuseCompoundIn (changed)" when the texts agree. */
  private fallback(path: string, a: ts.Type, b: ts.Type): Explanation {
    const ta = this.text(a);
    const tb = this.text(b);
    const prefix = lead(path);
    const item =
      ta === tb ? `${prefix}${short(ta)} (changed)` : `${prefix}${short(ta)} → ${short(tb)}`;
    return { items: [item], onlyWidened: false, lostProperty: false };
  }
}

/**
 * Declarations that read the same (comments aside), all the way down through the types they
 * refer to: then the types are the same, whatever the checker can prove about their open
 * generic forms. Two copies of `type CompoundOpResults<Ops> = { [K in keyof Ops]:
 * CompoundOpResult<OpcodeOf<Ops[K]>> }` are an example: TypeScript does not relate two
 * distinct conditional aliases (OpcodeOf) applied to an open parameter, though they are equal.
 */
/** An identifier that names a type or a value in a type: `X` in `X<T>`, `A.X`, `typeof X`, `extends X`. */
function isTypeName(n: ts.Identifier): boolean {
  let p = n.parent;
  while (p && ts.isQualifiedName(p)) p = p.parent;
  return (
    !!p &&
    (ts.isTypeReferenceNode(p) || ts.isExpressionWithTypeArguments(p) || ts.isTypeQueryNode(p))
  );
}

class SameText {
  private readonly printer = ts.createPrinter({ removeComments: true });
  private readonly memo = new Map<ts.Symbol, Map<ts.Symbol, boolean>>();

  constructor(private readonly checker: ts.TypeChecker) {}

  /** The parts of a declaration that make its type: a function's signature without its body. */
  private shape(d: ts.Declaration): ts.Node[] {
    if (ts.isFunctionDeclaration(d))
      return [...(d.typeParameters ?? []), ...d.parameters, ...(d.type ? [d.type] : [])];
    if (ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d)) return [d];
    return [];
  }

  private print(nodes: ts.Node[]): string {
    return nodes
      .map((n) => this.printer.printNode(ts.EmitHint.Unspecified, n, n.getSourceFile()))
      .join("\n");
  }

  /** Symbols the shape refers to by name, in order (library and type-parameter symbols left out). */
  private refs(nodes: ts.Node[]): (ts.Symbol | undefined)[] {
    const out: (ts.Symbol | undefined)[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isIdentifier(n) && isTypeName(n)) {
        let sym = this.checker.getSymbolAtLocation(n);
        if (sym && sym.flags & ts.SymbolFlags.Alias) sym = this.checker.getAliasedSymbol(sym);
        if (
          sym &&
          !(sym.flags & ts.SymbolFlags.TypeParameter) &&
          sym.declarations?.some((d) => d.getSourceFile().fileName.startsWith("/api/"))
        )
          out.push(sym);
        else if (!sym) out.push(undefined);
      }
      ts.forEachChild(n, visit);
    };
    nodes.forEach(visit);
    return out;
  }

  same(a: ts.Symbol, b: ts.Symbol): boolean {
    if (a === b) return true;
    let row = this.memo.get(a);
    if (!row) this.memo.set(a, (row = new Map()));
    const known = row.get(b);
    if (known !== undefined) return known;
    row.set(b, true); // a cycle back here is no evidence of a difference
    const result = this.compare(a, b);
    row.set(b, result);
    return result;
  }

  private compare(a: ts.Symbol, b: ts.Symbol): boolean {
    if (a.name !== b.name) return false;
    const da = (a.declarations ?? []).map((d) => this.shape(d)).filter((s) => s.length);
    const db = (b.declarations ?? []).map((d) => this.shape(d)).filter((s) => s.length);
    // Only declarations we can read as text (a struct's interface, not its SIZE/OFFSETS const).
    if (!da.length || da.length !== db.length) return false;
    for (let k = 0; k < da.length; k++) {
      if (this.print(da[k]) !== this.print(db[k])) return false;
      const ra = this.refs(da[k]);
      const rb = this.refs(db[k]);
      if (ra.length !== rb.length) return false;
      for (let m = 0; m < ra.length; m++) {
        const x = ra[m];
        const y = rb[m];
        if (!x || !y || !this.same(x, y)) return false;
      }
    }
    return true;
  }
}

function short(s: string): string {
  return s.length <= SHORT ? s : `${s.slice(0, SHORT - 1)}…`;
}

function list(xs: string[]): string {
  return xs.length <= MAX_ITEMS
    ? xs.join(", ")
    : `${xs.slice(0, MAX_ITEMS).join(", ")} and ${xs.length - MAX_ITEMS} more`;
}

function joinItems(items: string[]): string {
  return items.length <= MAX_ITEMS
    ? items.join("; ")
    : `${items.slice(0, MAX_ITEMS).join("; ")}; and ${items.length - MAX_ITEMS} more`;
}

const REASONS = {
  removed: "code that imports it no longer compiles",
  added: "a new export: existing code is unaffected",
  meaningRemoved: "code that uses it this way no longer compiles",
  meaningAdded: "a new use of an existing name: existing code is unaffected",
  valueCompatible:
    "the new type is assignable to the old one: every read or call that type-checked still does",
  valueLostProperty:
    "the new type is assignable to the old one, but a parameter's object type lost a property: an object literal written with it fails the excess property check",
  valueBreaking:
    "the new type is not assignable to the old one: a read or call that type-checked may not",
  valueLiteral:
    "its value changed, and a const's literal type is its value: code that relied on the old value gets the new one, and code typed with the old literal no longer type-checks",
  optionalAdded:
    "only optional members or parameters were added: old and new types are assignable to each other",
  typeWidened:
    "it only gained union members or optional properties: values written against the old type still fit (an exhaustive switch needs the new case)",
  typeWidenedBreaking:
    "the old type fits the new one but not the reverse, and not only by new members: code reading it may not type-check",
  typeNarrowed:
    "the old type is not assignable to the new one: values built against the old type no longer fit",
  typeDisjoint: "neither type is assignable to the other: code that builds or reads it must change",
  arity: "its type parameters changed: every reference with type arguments must change",
};

const KIND_RANK: Record<TsChangeKind, number> = {
  "ts-export-removed": 0,
  "ts-meaning-removed": 1,
  "ts-value-type-changed": 2,
  "ts-type-changed": 2,
  "ts-meaning-added": 3,
  "ts-export-added": 4,
};

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeExport(e: ExportInfo, cmp: Comparer): string {
  const kinds = e.kinds.join("+") || "export";
  const valueText = e.value && e.valueKind === "const" ? cmp.text(e.value) : undefined;
  return valueText && valueText.length <= SHORT
    ? `${kinds} ${e.name}: ${valueText}`
    : `${kinds} ${e.name}`;
}

/** Every change of the exported TypeScript API from `oldApi` to `newApi`. */
export function compareApis(oldApi: ApiSource, newApi: ApiSource): TsApiDiff {
  return compareApiPairs([oldApi, newApi], [[0, 1]])[0];
}

/** Several pairs in one program (each source loaded once), e.g. every consecutive revision. */
export function compareApiPairs(
  sources: readonly ApiSource[],
  pairs: readonly (readonly [number, number])[],
): TsApiDiff[] {
  const loaded = load(sources, pairs);
  const cmp = new Comparer(loaded.checker);
  const tables = new Map<number, Map<string, ExportInfo>>();
  const table = (i: number) => {
    let t = tables.get(i);
    if (!t) tables.set(i, (t = exportTable(loaded, i, loaded.arity[i])));
    return t;
  };
  return pairs.map(([i, j]) => diffTables(loaded, cmp, table(i), table(j), i, j));
}

function genericFunction(s: ts.Symbol): boolean {
  return !!s.declarations?.some((d) => ts.isFunctionDeclaration(d) && !!d.typeParameters?.length);
}

function diffTables(
  l: Loaded,
  cmp: Comparer,
  a: Map<string, ExportInfo>,
  b: Map<string, ExportInfo>,
  i: number,
  j: number,
): TsApiDiff {
  const probe = l.project.getSourceFile(probePath(i, j));
  const probeTypes = (name: string): [ts.Type, ts.Type] | undefined => {
    const decl = probe?.getInterface(`__P_${name}`)?.compilerNode;
    if (!decl) return undefined;
    const t = l.checker.getTypeAtLocation(decl);
    const pa = t.getProperty("a");
    const pb = t.getProperty("b");
    return pa && pb ? [l.checker.getTypeOfSymbol(pa), l.checker.getTypeOfSymbol(pb)] : undefined;
  };

  const texts = new SameText(l.checker);
  const changes: (TsApiChange & { texts?: string })[] = [];
  for (const [name, ea] of a) {
    const eb = b.get(name);
    if (!eb) {
      changes.push({
        kind: "ts-export-removed",
        subject: name,
        detail: `${describeExport(ea, cmp)} removed`,
        severity: "breaking",
        reason: REASONS.removed,
      });
      continue;
    }
    // Value meaning.
    if (ea.value && !eb.value)
      changes.push({
        kind: "ts-meaning-removed",
        subject: name,
        detail: `no longer a value (was ${ea.valueKind}); now ${eb.kinds.join("+")}`,
        severity: "breaking",
        reason: REASONS.meaningRemoved,
      });
    else if (!ea.value && eb.value)
      changes.push({
        kind: "ts-meaning-added",
        subject: name,
        detail: `now also a value (${eb.valueKind})`,
        severity: "compatible",
        reason: REASONS.meaningAdded,
      });
    else if (ea.value && eb.value && cmp.same(ea.value, eb.value)) {
      const added = cmp.additions(ea.value, eb.value, true);
      if (added.length)
        changes.push({
          kind: "ts-value-type-changed",
          subject: name,
          detail: `${eb.valueKind}: ${joinItems(added)}`,
          severity: "compatible",
          reason: REASONS.optionalAdded,
        });
    } else if (
      ea.value &&
      eb.value &&
      !(genericFunction(ea.symbol) && texts.same(ea.symbol, eb.symbol))
    ) {
      const why = cmp.explain(ea.value, eb.value, true);
      // Widened only by literal union members or optional members (a return type gaining an enum
      // member): as compatible as the same change of a type, see the rules at the top.
      const strictly = cmp.assignable(eb.value, ea.value);
      const assignable = strictly || why.onlyWidened;
      const compatible = assignable && !why.lostProperty;
      changes.push({
        kind: "ts-value-type-changed",
        subject: name,
        detail: `${eb.valueKind}: ${joinItems(why.items)}`,
        severity: compatible ? "compatible" : "breaking",
        reason: compatible
          ? strictly
            ? REASONS.valueCompatible
            : REASONS.typeWidened
          : assignable
            ? REASONS.valueLostProperty
            : ea.value.isLiteral() && eb.value.isLiteral()
              ? REASONS.valueLiteral
              : REASONS.valueBreaking,
        texts: `${cmp.text(ea.value)} ${cmp.text(eb.value)}`,
      });
    }
    // Type meaning.
    if (ea.type && !eb.type)
      changes.push({
        kind: "ts-meaning-removed",
        subject: name,
        detail: `no longer a type (was ${ea.typeKind}); now ${eb.kinds.join("+")}`,
        severity: "breaking",
        reason: REASONS.meaningRemoved,
      });
    else if (!ea.type && eb.type)
      changes.push({
        kind: "ts-meaning-added",
        subject: name,
        detail: `now also a type (${eb.typeKind})`,
        severity: "compatible",
        reason: REASONS.meaningAdded,
      });
    else if (ea.type && eb.type) {
      let ta = ea.type;
      let tb = eb.type;
      if (ea.generic || eb.generic) {
        const probed = probeTypes(name);
        if (!probed) {
          changes.push({
            kind: "ts-type-changed",
            subject: name,
            detail: `${eb.typeKind}: type parameters changed`,
            severity: "breaking",
            reason: REASONS.arity,
          });
          continue;
        }
        [ta, tb] = probed;
      }
      if (cmp.same(ta, tb)) {
        const added = cmp.additions(ta, tb, false);
        if (added.length)
          changes.push({
            kind: "ts-type-changed",
            subject: name,
            detail: `${eb.typeKind}: ${joinItems(added)}`,
            severity: "compatible",
            reason: REASONS.optionalAdded,
          });
        continue;
      }
      if ((ea.generic || eb.generic) && texts.same(ea.symbol, eb.symbol)) continue;
      const forward = cmp.assignable(ta, tb);
      const backward = cmp.assignable(tb, ta);
      const { items, onlyWidened } = cmp.explain(ta, tb, false);
      const severity: Severity = forward && !backward && onlyWidened ? "compatible" : "breaking";
      const reason =
        forward && !backward
          ? onlyWidened
            ? REASONS.typeWidened
            : REASONS.typeWidenedBreaking
          : backward
            ? REASONS.typeNarrowed
            : REASONS.typeDisjoint;
      const propTexts = (t: ts.Type) =>
        [
          cmp.text(t),
          ...(t.flags & ts.TypeFlags.Object
            ? l.checker.getPropertiesOfType(t).map((p) => cmp.text(l.checker.getTypeOfSymbol(p)))
            : []),
        ].join(" ");
      changes.push({
        kind: "ts-type-changed",
        subject: name,
        detail: `${eb.typeKind}: ${joinItems(items)}`,
        severity,
        reason,
        texts: `${propTexts(ta)} ${propTexts(tb)}`,
      });
    }
  }
  for (const [name, eb] of b)
    if (!a.has(name))
      changes.push({
        kind: "ts-export-added",
        subject: name,
        detail: `${describeExport(eb, cmp)} added`,
        severity: "compatible",
        reason: REASONS.added,
      });

  // A type that reads the same on both sides changed through a type it refers to: name it.
  const changed = new Set(
    changes.filter((c) => c.kind !== "ts-export-added").map((c) => c.subject),
  );
  for (const c of changes) {
    if (c.texts === undefined) continue;
    const refs = [...new Set(c.texts.match(/[A-Za-z_$][\w$]*/g) ?? [])]
      .filter((w) => w !== c.subject && changed.has(w))
      .sort(compareNames);
    if (refs.length && /\(changed\)/.test(c.detail))
      c.detail += ` — refers to changed ${list(refs)}`;
    delete c.texts;
  }
  changes.sort(
    (x, y) => KIND_RANK[x.kind] - KIND_RANK[y.kind] || compareNames(x.subject, y.subject),
  );

  return {
    changes,
    renames: renameCandidates(cmp, a, b),
    oldExports: new Map([...a].map(([n, e]) => [n, e.kinds.join("+")])),
    newExports: new Map([...b].map(([n, e]) => [n, e.kinds.join("+")])),
  };
}

/**
 * Removed exports that map one-to-one onto added exports with the same declaration kinds and
 * identical types (assignable both ways, same text): the only renames the TypeScript API can
 * prove. A value and a literal type identical in both (`const X: 7` → `const Y: 7`) qualify; a
 * candidate with two possible partners does not. Whether a flag whose bit moved to another
 * name is the same flag is the C ABI's question (`flag-bit-reused`), answered by the caller.
 */
function renameCandidates(
  cmp: Comparer,
  a: Map<string, ExportInfo>,
  b: Map<string, ExportInfo>,
): RenameCandidate[] {
  const removed = [...a.values()].filter((e) => !b.has(e.name));
  const added = [...b.values()].filter((e) => !a.has(e.name));
  const same = (x: ExportInfo, y: ExportInfo) =>
    x.kinds.join("+") === y.kinds.join("+") &&
    !x.generic &&
    !y.generic &&
    (!x.value ||
      (!!y.value && cmp.same(x.value, y.value) && cmp.text(x.value) === cmp.text(y.value))) &&
    (!x.type || (!!y.type && cmp.same(x.type, y.type)));
  const out: RenameCandidate[] = [];
  for (const x of removed) {
    const partners = added.filter((y) => same(x, y));
    if (partners.length !== 1) continue;
    const y = partners[0];
    if (removed.filter((z) => same(z, y)).length !== 1) continue;
    const valueText = x.value ? cmp.text(x.value) : undefined;
    out.push({
      from: x.name,
      to: y.name,
      proof: `${x.kinds.join("+")}${valueText && valueText.length <= SHORT ? `: ${valueText}` : ""}, identical type on both sides, no other candidate`,
    });
  }
  return out.sort((p, q) => compareNames(p.from, q.from));
}

export function tsSummary(changes: readonly TsApiChange[]): {
  breaking: number;
  compatible: number;
} {
  const breaking = changes.filter((c) => c.severity === "breaking").length;
  return { breaking, compatible: changes.length - breaking };
}
