/**
 * `fuse-uapi migrate --from A --to B [tsconfig]`: a ts-morph codemod that
 * moves a downstream TypeScript project from one revision's generated API to
 * another's.
 *
 * 1. The TypeScript API diff A → B (../diff/ts-api.ts) and the C ABI diff say
 *    what was removed, renamed or changed.
 * 2. In every source file of the project (its tsconfig's files, inside the
 *    project folder, not node_modules or declarations), imports and re-exports
 *    of `fuse-uapi/revisions/A`, and relative ones of `…/generated/A/…`, are
 *    rewritten to B.
 * 3. Each symbol imported from A (named, or through a namespace import) that B
 *    no longer exports is renamed where the rename is provable: exactly one
 *    export of B has the same declaration kinds and an identical type, and no
 *    other removed export matches it (ts-api's rename candidates), and neither
 *    name is a flag — a flag's bit taken by another name is the C ABI's
 *    `flag-bit-reused`, a new meaning, and FUSE_COMPOUND_* flags renumbered by a revision are
 *    not a rename. Every other use of a removed symbol is listed "cannot fix",
 *    with file:line:col and why.
 * 4. Uses of symbols whose type changed in a breaking way are listed "review":
 *    they still resolve, but a value or a shape is different
 *    (FUSE_COMPOUND_ATOMIC 2 → 4).
 * 5. The project is type-checked again with the rewritten text (in memory), and
 *    every diagnostic the original did not have is listed "does not compile
 *    after migration" (`compound_in.count` where a revision removed the member).
 *
 * Dry run by default: the plan is printed and nothing is written. `--write`
 * writes the rewritten files (atomically, only inside the project folder).
 * Exit 1 when anything cannot be fixed (3 or 5), 0 otherwise, 2 for bad input.
 * Locations of rewrites and renames are in the files as they are now; those of
 * "cannot fix", "review" and compile errors are in the migrated text (what a
 * compiler reports after --write; they differ only after a rename on the line).
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, relative, resolve, sep } from "node:path";
import { type Diagnostic, Node, Project, type SourceFile, ts } from "ts-morph";
import type { Change } from "../diff/change.js";
import { isFlag } from "../diff/constants.js";
import { diffSchemas } from "../diff/index.js";
import { resolveSchemaArg } from "../diff/resolve.js";
import {
  apiSourceForArg,
  compareApis,
  isRevisionName,
  type TsApiChange,
  type TsApiDiff,
} from "../diff/ts-api.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../io.js";
import type { Schema } from "../model.js";
import { revisionName } from "../render/doc.js";
import { pascalCase } from "../render/naming.js";

export interface MigrateCommandOptions {
  from: string;
  to: string;
  project?: string;
  write?: boolean;
  format?: string;
}

export interface Location {
  /** Relative to the current directory. */
  file: string;
  line: number;
  col: number;
}

export interface Rewrite extends Location {
  from: string;
  to: string;
}

export interface RenameUse extends Location {
  from: string;
  to: string;
  proof: string;
}

export interface Finding extends Location {
  symbol?: string;
  why: string;
  /** TypeScript's diagnostic code, for compile errors. */
  code?: number;
}

export interface MigratePlan {
  from: string;
  to: string;
  project: string;
  /** Files that import the old revision. */
  files: string[];
  rewrites: Rewrite[];
  renames: RenameUse[];
  cannotFix: Finding[];
  review: Finding[];
  compileErrors: Finding[];
  /** Files written (with --write). */
  written: string[];
  /** The TypeScript API change count, for the header line. */
  apiChanges: { total: number; breaking: number };
}

// ---------------------------------------------------------------------------
// What changed

interface Knowledge {
  diff: TsApiDiff;
  byName: Map<string, TsApiChange[]>;
  /** Removed name → new name, for the renames that survive the flag rule. */
  renames: Map<string, { to: string; proof: string }>;
  abi: Change[];
  fromSchema: Schema;
  toSchema: Schema;
}

/** The C ABI facts about a TypeScript export: same-named constants and opcodes, structs by their PascalCase name. */
function abiFor(name: string, abi: readonly Change[]): Change[] {
  return abi.filter((c) => {
    if (c.subject === name) return true;
    const m = /^struct (\w+)(?:\.|$)/.exec(c.subject);
    return !!m && pascalCase(m[1]) === name;
  });
}

function abiNote(name: string, abi: readonly Change[]): string {
  const related = abiFor(name, abi);
  if (!related.length) return "";
  const shown = related.slice(0, 3).map((c) => `${c.kind} ${c.subject}: ${c.detail}`);
  return `; C ABI: ${shown.join("; ")}${related.length > 3 ? `; and ${related.length - 3} more` : ""}`;
}

function isFlagName(name: string, schema: Schema): boolean {
  const c = schema.constants.find((x) => x.name === name);
  return !!c && isFlag(c);
}

async function knowledge(
  fromArg: string,
  toArg: string,
): Promise<{ k: Knowledge; from: string; to: string }> {
  const a = resolveSchemaArg(fromArg);
  const b = resolveSchemaArg(toArg);
  const [sa, sb] = await Promise.all([apiSourceForArg(fromArg, a), apiSourceForArg(toArg, b)]);
  const diff = compareApis(sa, sb);
  const abi = diffSchemas(a.schema, b.schema);
  const byName = new Map<string, TsApiChange[]>();
  for (const c of diff.changes) byName.set(c.subject, [...(byName.get(c.subject) ?? []), c]);
  const renames = new Map<string, { to: string; proof: string }>();
  for (const r of diff.renames) {
    if (isFlagName(r.from, a.schema) || isFlagName(r.to, b.schema)) continue;
    if (abi.some((c) => c.kind === "flag-bit-reused" && c.subject === r.to)) continue;
    renames.set(r.from, { to: r.to, proof: r.proof });
  }
  // The name in `fuse-uapi/revisions/<name>` and `generated/<name>/`: what `generate` names the folder.
  const moduleName = (arg: string, schema: Schema) =>
    isRevisionName(arg) ? arg : revisionName(schema);
  return {
    k: { diff, byName, renames, abi, fromSchema: a.schema, toSchema: b.schema },
    from: moduleName(fromArg, a.schema),
    to: moduleName(toArg, b.schema),
  };
}

// ---------------------------------------------------------------------------
// The project

function projectFiles(project: Project, root: string): SourceFile[] {
  return project.getSourceFiles().filter((sf) => {
    const p = sf.getFilePath();
    return (
      !sf.isDeclarationFile() &&
      !p.split("/").includes("node_modules") &&
      (p + "/").startsWith(root + "/")
    );
  });
}

/** The specifier with the revision swapped, or undefined when it does not name the old revision. */
export function rewriteSpecifier(spec: string, from: string, to: string): string | undefined {
  if (spec === `fuse-uapi/revisions/${from}`) return `fuse-uapi/revisions/${to}`;
  // The published package (packages/bindings): one subpath per revision.
  if (spec === `@fuse-uapi/bindings/${from}`) return `@fuse-uapi/bindings/${to}`;
  if (!spec.startsWith(".")) return undefined;
  const parts = spec.split("/");
  const k = parts.findIndex((p, i) => p === from && i > 0 && parts[i - 1] === "generated");
  if (k < 0) return undefined;
  parts[k] = to;
  return parts.join("/");
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function where(sf: SourceFile, pos: number, cwd: string): Location {
  const { line, column } = sf.getLineAndColumnAtPos(pos);
  return { file: relative(cwd, sf.getFilePath()), line, col: column };
}

/** Identifiers of `sf` bound to the same local symbol as `decl` (an import's local name), `decl` itself excluded. */
function localUses(sf: SourceFile, decl: Node, checker: ts.TypeChecker): Node[] {
  const target = checker.getSymbolAtLocation(decl.compilerNode);
  if (!target) return [];
  const name = decl.getText();
  return sf.getDescendantsOfKind(ts.SyntaxKind.Identifier).filter((id) => {
    if (id === decl || id.getText() !== name) return false;
    const parent = id.getParent();
    const sym =
      parent && Node.isShorthandPropertyAssignment(parent)
        ? checker.getShorthandAssignmentValueSymbol(parent.compilerNode)
        : parent &&
            Node.isExportSpecifier(parent) &&
            !parent.getExportDeclaration().getModuleSpecifier() &&
            (parent.getAliasNode() ? parent.getNameNode() === id : true)
          ? checker.getExportSpecifierLocalTargetSymbol(parent.compilerNode)
          : checker.getSymbolAtLocation(id.compilerNode);
    return sym === target;
  });
}

/** How to rename one use of an imported binding: `{ OLD }` keeps its property name. */
function renameEdit(id: Node, to: string): Edit {
  const parent = id.getParent();
  const text =
    parent && Node.isShorthandPropertyAssignment(parent)
      ? `${id.getText()}: ${to}`
      : parent && Node.isExportSpecifier(parent) && !parent.getAliasNode()
        ? `${to} as ${id.getText()}`
        : to;
  return { start: id.getStart(), end: id.getEnd(), text };
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((x, y) => y.start - x.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** Offset in the edited text of an offset of the original. */
function shifted(pos: number, edits: readonly Edit[]): number {
  let delta = 0;
  for (const e of edits) if (e.end <= pos) delta += e.text.length - (e.end - e.start);
  return pos + delta;
}

function diagnosticKey(d: Diagnostic): string {
  return `${d.getSourceFile()?.getFilePath() ?? ""}\0${d.getCode()}\0${ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n")}`;
}

function tsWhy(changes: TsApiChange[] | undefined, to: string): string {
  if (!changes?.length) return "";
  return changes
    .map((c) =>
      c.kind === "ts-export-removed"
        ? `removed in ${to} (${c.detail.replace(/ removed$/, "")})`
        : `${c.kind.replace(/^ts-/, "")}: ${c.detail}`,
    )
    .join("; ");
}

export async function migrate(
  opts: MigrateCommandOptions & { tsconfig?: string },
  cwd = process.cwd(),
): Promise<MigratePlan> {
  const tsconfigArg = opts.tsconfig ?? opts.project ?? "tsconfig.json";
  const tsconfig = resolve(cwd, tsconfigArg);
  if (!existsSync(tsconfig) || !statSync(tsconfig).isFile())
    throw new InputError(`${tsconfigArg}: no such tsconfig file`);
  const root = realpathSync(dirname(tsconfig));

  const { k, from, to } = await knowledge(opts.from, opts.to);
  let project: Project;
  try {
    project = new Project({ tsConfigFilePath: tsconfig });
  } catch (e) {
    throw new InputError(`${tsconfigArg}: ${(e as Error).message.split("\n")[0]}`);
  }
  const files = projectFiles(project, root);
  const checker = project.getTypeChecker().compilerObject;
  const plan: MigratePlan = {
    from,
    to,
    project: relative(cwd, tsconfig) || basename(tsconfig),
    files: [],
    rewrites: [],
    renames: [],
    cannotFix: [],
    review: [],
    compileErrors: [],
    written: [],
    apiChanges: {
      total: k.diff.changes.length,
      breaking: k.diff.changes.filter((c) => c.severity === "breaking").length,
    },
  };
  const breakingNames = new Set(
    k.diff.changes
      .filter((c) => c.severity === "breaking" && c.kind !== "ts-export-removed")
      .map((c) => c.subject),
  );
  const removed = (name: string) => k.diff.oldExports.has(name) && !k.diff.newExports.has(name);

  const edits = new Map<SourceFile, Edit[]>();
  const addEdit = (sf: SourceFile, e: Edit) => edits.set(sf, [...(edits.get(sf) ?? []), e]);
  /** Uses to list, by their offset in the original text; located in the migrated text at the end. */
  const pending: { sf: SourceFile; pos: number; list: Finding[]; symbol: string; why: string }[] =
    [];

  /** One use of an imported name: rename it, or list it. */
  const handleUse = (sf: SourceFile, node: Node, name: string, renameNode: Node | undefined) => {
    if (removed(name)) {
      const r = k.renames.get(name);
      if (r && renameNode) {
        addEdit(sf, renameEdit(renameNode, r.to));
        plan.renames.push({
          ...where(sf, node.getStart(), cwd),
          from: name,
          to: r.to,
          proof: r.proof,
        });
      } else {
        const why = `${tsWhy(k.byName.get(name), to) || `removed in ${to}`}${abiNote(name, k.abi)}; no provable rename`;
        pending.push({ sf, pos: node.getStart(), list: plan.cannotFix, symbol: name, why });
      }
    } else if (breakingNames.has(name)) {
      pending.push({
        sf,
        pos: node.getStart(),
        list: plan.review,
        symbol: name,
        why: `${tsWhy(k.byName.get(name), to)}${abiNote(name, k.abi)}`,
      });
    }
  };

  // Diagnostics of the original, so only what the migration breaks is reported.
  const before = new Map<string, number>();
  for (const sf of files)
    for (const d of sf.getPreEmitDiagnostics())
      before.set(diagnosticKey(d), (before.get(diagnosticKey(d)) ?? 0) + 1);

  for (const sf of files) {
    let touched = false;
    const specifiers: { literal: Node; decl?: Node }[] = [];
    for (const d of [...sf.getImportDeclarations(), ...sf.getExportDeclarations()]) {
      const lit = d.getModuleSpecifier();
      if (lit) specifiers.push({ literal: lit, decl: d });
    }
    // import("…") in expressions and types.
    for (const call of sf.getDescendantsOfKind(ts.SyntaxKind.CallExpression))
      if (call.getExpression().getKind() === ts.SyntaxKind.ImportKeyword) {
        const arg = call.getArguments()[0];
        if (arg && Node.isStringLiteral(arg)) specifiers.push({ literal: arg });
      }
    for (const t of sf.getDescendantsOfKind(ts.SyntaxKind.ImportType)) {
      const arg = t.getArgument();
      const lit = Node.isLiteralTypeNode(arg) ? arg.getLiteral() : undefined;
      if (lit && Node.isStringLiteral(lit)) specifiers.push({ literal: lit, decl: t });
    }
    for (const { literal, decl } of specifiers) {
      if (!Node.isStringLiteral(literal)) continue;
      const spec = literal.getLiteralValue();
      const next = rewriteSpecifier(spec, from, to);
      if (next === undefined) continue;
      touched = true;
      const quote = literal.getText()[0];
      addEdit(sf, {
        start: literal.getStart(),
        end: literal.getEnd(),
        text: `${quote}${next}${quote}`,
      });
      plan.rewrites.push({ ...where(sf, literal.getStart(), cwd), from: spec, to: next });
      if (!decl) continue;
      if (Node.isImportDeclaration(decl)) {
        for (const s of decl.getNamedImports()) {
          const name = s.getName();
          const alias = s.getAliasNode();
          const local = alias ?? s.getNameNode();
          if (removed(name) && k.renames.has(name) && alias) {
            // `import { OLD as x }`: only the imported name changes.
            handleUse(sf, s.getNameNode(), name, s.getNameNode());
            continue;
          }
          handleUse(sf, s.getNameNode(), name, s.getNameNode());
          for (const use of localUses(sf, local, checker))
            handleUse(sf, use, name, alias ? undefined : use);
        }
        const ns = decl.getNamespaceImport();
        if (ns) {
          for (const use of localUses(sf, ns, checker)) {
            const parent = use.getParent();
            const member =
              parent && Node.isPropertyAccessExpression(parent) && parent.getExpression() === use
                ? parent.getNameNode()
                : parent && Node.isQualifiedName(parent) && parent.getLeft() === use
                  ? parent.getRight()
                  : undefined;
            if (member) handleUse(sf, member, member.getText(), member);
          }
        }
      } else if (Node.isImportTypeNode(decl)) {
        // typeof import("…").NAME: the first name after the module.
        let q: Node | undefined = decl.getQualifier();
        while (q && Node.isQualifiedName(q)) q = q.getLeft();
        if (q && Node.isIdentifier(q)) handleUse(sf, q, q.getText(), q);
      } else if (Node.isExportDeclaration(decl)) {
        for (const s of decl.getNamedExports()) {
          const name = s.getName();
          const nameNode = s.getNameNode();
          // `export { OLD } from`: keep the name this module exports, take it from its new name.
          if (removed(name) && k.renames.has(name) && !s.getAliasNode()) {
            const r = k.renames.get(name)!;
            addEdit(sf, {
              start: nameNode.getStart(),
              end: nameNode.getEnd(),
              text: `${r.to} as ${name}`,
            });
            plan.renames.push({
              ...where(sf, nameNode.getStart(), cwd),
              from: name,
              to: r.to,
              proof: r.proof,
            });
          } else handleUse(sf, nameNode, name, nameNode);
        }
      }
    }
    if (touched) plan.files.push(relative(cwd, sf.getFilePath()));
  }

  // Apply in memory, locate the listed uses in the migrated text, type-check again, and keep what is new.
  const newText = new Map<SourceFile, string>();
  for (const [sf, es] of edits) newText.set(sf, applyEdits(sf.getFullText(), es));
  for (const [sf, text] of newText) sf.replaceWithText(text);
  const listedAt = new Map<SourceFile, Set<number>>();
  for (const p of pending) {
    const pos = shifted(p.pos, edits.get(p.sf) ?? []);
    p.list.push({ ...where(p.sf, pos, cwd), symbol: p.symbol, why: p.why });
    if (p.list === plan.cannotFix) listedAt.set(p.sf, (listedAt.get(p.sf) ?? new Set()).add(pos));
  }
  const seen = new Map(before);
  for (const sf of files) {
    const skip = listedAt.get(sf) ?? new Set<number>();
    for (const d of sf.getPreEmitDiagnostics()) {
      const key = diagnosticKey(d);
      const n = seen.get(key) ?? 0;
      if (n > 0) {
        seen.set(key, n - 1);
        continue;
      }
      const start = d.getStart();
      if (start !== undefined && skip.has(start)) continue;
      const message = ts.flattenDiagnosticMessageText(d.compilerObject.messageText, " ");
      const named = [
        ...new Set(message.match(/'([A-Za-z_$][\w$]*)'/g)?.map((m) => m.slice(1, -1)) ?? []),
      ].filter((n) => k.byName.has(n));
      // Name the changed export the message is about (its type meaning, where a struct has both).
      const about = (n: string) => {
        const cs = k.byName.get(n) ?? [];
        const c = cs.find((x) => x.kind === "ts-type-changed") ?? cs[0];
        return `${n}: ${c.detail}`;
      };
      const why = named.length ? `${message} (${named.map(about).join("; ")})` : message;
      plan.compileErrors.push({
        ...(start !== undefined
          ? where(sf, start, cwd)
          : { file: relative(cwd, sf.getFilePath()), line: 0, col: 0 }),
        why,
        code: d.getCode(),
      });
    }
  }

  if (opts.write) {
    for (const [sf, text] of newText) {
      const path = sf.getFilePath();
      // Only inside the project folder (projectFiles guarantees it; checked again before writing).
      if (!(path + "/").startsWith(root + sep)) continue;
      writeFileAtomic(path, text);
      plan.written.push(relative(cwd, path));
    }
  }
  const byLocation = (x: Location, y: Location) =>
    x.file < y.file ? -1 : x.file > y.file ? 1 : x.line - y.line || x.col - y.col;
  for (const list of [
    plan.rewrites,
    plan.renames,
    plan.cannotFix,
    plan.review,
    plan.compileErrors,
  ] as Location[][])
    list.sort(byLocation);
  plan.files.sort();
  return plan;
}

// ---------------------------------------------------------------------------
// Output

function at(l: Location): string {
  return `${l.file}:${l.line}:${l.col}`;
}

export function formatPlan(plan: MigratePlan, wrote: boolean): string {
  const lines: string[] = [];
  lines.push(
    `migrate ${plan.from} → ${plan.to} (${plan.project}): ${plan.files.length} file(s) import ${plan.from}`,
  );
  lines.push(
    `TypeScript API ${plan.from} → ${plan.to}: ${plan.apiChanges.total} change(s), ${plan.apiChanges.breaking} breaking (details: fuse-uapi diff ${plan.from} ${plan.to})`,
  );
  const section = (title: string, items: string[]) => {
    lines.push("", `${title} (${items.length})${items.length ? ":" : ""}`);
    for (const i of items) lines.push(`  ${i}`);
  };
  section(
    "imports rewritten",
    plan.rewrites.map((r) => `${at(r)}  "${r.from}" → "${r.to}"`),
  );
  section(
    "renamed",
    plan.renames.map((r) => `${at(r)}  ${r.from} → ${r.to}  (proof: ${r.proof})`),
  );
  // Uses grouped by symbol: the reason once, then every location.
  const grouped = (title: string, findings: Finding[]) => {
    const bySymbol = new Map<string, Finding[]>();
    for (const f of findings)
      bySymbol.set(f.symbol ?? "", [...(bySymbol.get(f.symbol ?? "") ?? []), f]);
    lines.push(
      "",
      `${title} (${findings.length} use(s) of ${bySymbol.size} symbol(s))${findings.length ? ":" : ""}`,
    );
    for (const [symbol, fs] of [...bySymbol].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      lines.push(`  ${symbol}: ${fs[0].why}`);
      for (const f of fs) lines.push(`    ${at(f)}`);
    }
  };
  grouped("cannot fix", plan.cannotFix);
  grouped("review: still resolves, but changed", plan.review);
  section(
    "does not compile after migration",
    plan.compileErrors.map((f) => `${at(f)}  TS${f.code}: ${f.why}`),
  );
  const open = plan.cannotFix.length + plan.compileErrors.length;
  lines.push("");
  lines.push(
    open
      ? `result: ${plan.cannotFix.length} use(s) of removed symbols and ${plan.compileErrors.length} compile error(s) to fix by hand`
      : `result: everything migrates (${plan.rewrites.length} import(s) rewritten, ${plan.renames.length} rename(s))`,
  );
  lines.push(
    wrote
      ? `wrote ${plan.written.length} file(s)${plan.written.length ? `: ${plan.written.join(", ")}` : ""}`
      : "dry run: nothing written (--write applies the rewrites and renames)",
  );
  return lines.join("\n") + "\n";
}

export async function migrateCommand(
  tsconfig: string | undefined,
  opts: MigrateCommandOptions,
): Promise<number> {
  const format = opts.format ?? "text";
  if (format !== "text" && format !== "json")
    throw new InputError(`unknown format '${format}' (known: text, json)`);
  if (tsconfig && opts.project && resolve(tsconfig) !== resolve(opts.project))
    throw new InputError("give the tsconfig once: as the argument or as --project");
  const plan = await migrate({ ...opts, tsconfig: tsconfig ?? opts.project });
  process.stdout.write(
    format === "json" ? JSON.stringify(plan, null, 2) + "\n" : formatPlan(plan, !!opts.write),
  );
  return plan.cannotFix.length + plan.compileErrors.length ? 1 : 0;
}
