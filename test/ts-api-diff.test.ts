/**
 * The TypeScript API diff (generator/diff/ts-api.ts) and its place in `fuse-uapi diff`.
 *
 * First the committed revisions, read from generated/ (what a consumer of
 * `fuse-uapi/revisions/<name>` sees change), then one invented pair of API
 * folders that exercises each classification rule, then the CLI: the TS
 * section next to the ABI one, JSON, and `--fail-on` as a CI gate.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { promisify } from "node:util";
import { formatDiff } from "../generator/diff/format.js";
import {
  type ApiSource,
  compareApiPairs,
  compareApis,
  generatedApiSource,
  publicizePrivates,
  type TsApiChange,
  type TsApiDiff,
} from "../generator/diff/ts-api.js";
import { repoRoot } from "../generator/revisions/registry.js";

const run = promisify(execFile);
const CLI = join(repoRoot(), "dist", "generator", "cli.js");

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: repoRoot(), maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function one(
  changes: readonly TsApiChange[],
  kind: TsApiChange["kind"],
  subject: string,
): TsApiChange {
  const found = changes.filter((c) => c.kind === kind && c.subject === subject);
  assert.equal(
    found.length,
    1,
    `expected one ${kind} of ${subject}, got:\n${changes.map((c) => `  ${c.severity} ${c.kind} ${c.subject}: ${c.detail}`).join("\n")}`,
  );
  return found[0];
}

function none(changes: readonly TsApiChange[], subject: string): void {
  const found = changes.filter((c) => c.subject === subject);
  assert.deepEqual(found, [], `expected no change of ${subject}`);
}

describe("the committed revisions' generated API", () => {
  let rfc: TsApiDiff;
  let v4v5: TsApiDiff;
  let v5v6: TsApiDiff;
  before(() => {
    // One program for all of them: each revision is loaded once.
    const names = ["rfc-v1", "rfc-v2", "v4", "v5", "v6"];
    [rfc, v4v5, v5v6] = compareApiPairs(
      names.map((n) => generatedApiSource(n)),
      [
        [0, 1],
        [2, 3],
        [3, 4],
      ],
    );
  });

  test("rfc-v1 → rfc-v2: only the revision's name changes (generics with per-revision helpers compare equal)", () => {
    assert.equal(
      rfc.changes.length,
      1,
      rfc.changes.map((c) => `${c.kind} ${c.subject}: ${c.detail}`).join("\n"),
    );
    const c = one(rfc.changes, "ts-value-type-changed", "COMPOUND_REVISION");
    assert.equal(c.detail, 'const: "rfc-v1" → "rfc-v2"');
    assert.equal(c.severity, "breaking", "a literal-typed const's value is its type");
    assert.equal(rfc.oldExports.size, rfc.newExports.size);
    assert.equal(rfc.oldExports.get("FuseCompoundIn"), "interface+const");
  });

  test("v4 → v5: two flags added — the flag name union and the flag table grow, compatibly", () => {
    const c = v4v5.changes;
    assert.equal(
      one(c, "ts-export-added", "FUSE_COMPOUND_SEPARABLE").detail,
      "const FUSE_COMPOUND_SEPARABLE: 1 added",
    );
    one(c, "ts-export-added", "FUSE_COMPOUND_ATOMIC");
    const names = one(c, "ts-type-changed", "CompoundFlagName");
    assert.equal(names.severity, "compatible");
    assert.equal(names.detail, 'type: gained "FUSE_COMPOUND_SEPARABLE", "FUSE_COMPOUND_ATOMIC"');
    assert.equal(one(c, "ts-value-type-changed", "COMPOUND_FLAGS").severity, "compatible");
    assert.equal(
      one(c, "ts-value-type-changed", "decodeCompoundRequest").severity,
      "compatible",
      "a return type gaining enum members",
    );
    assert.deepEqual(
      c.filter((x) => x.severity === "breaking").map((x) => x.subject),
      ["COMPOUND_REVISION"],
    );
  });

  test("v5 → v6: FUSE_MAX_COMPOUND_OPS removed, ATOMIC renumbered, count fields gone — and every function that carries them", () => {
    const c = v5v6.changes;
    const max = one(c, "ts-export-removed", "FUSE_MAX_COMPOUND_OPS");
    assert.equal(max.severity, "breaking");
    assert.equal(max.detail, "const FUSE_MAX_COMPOUND_OPS: 16 removed");
    const atomic = one(c, "ts-value-type-changed", "FUSE_COMPOUND_ATOMIC");
    assert.equal(atomic.detail, "const: 2 → 4");
    assert.equal(atomic.severity, "breaking");
    assert.equal(one(c, "ts-export-added", "FUSE_COMPOUND_CONTINUE").severity, "compatible");
    assert.match(
      one(c, "ts-value-type-changed", "COMPOUND_FLAGS").detail,
      /FUSE_COMPOUND_ATOMIC: 2 → 4; FUSE_COMPOUND_CONTINUE: 2 added/,
    );
    assert.equal(one(c, "ts-type-changed", "CompoundFlagName").severity, "compatible");

    const inType = one(c, "ts-type-changed", "FuseCompoundIn");
    assert.equal(inType.detail, "interface: count removed");
    assert.equal(inType.severity, "breaking");
    assert.match(
      one(c, "ts-value-type-changed", "FuseCompoundIn").detail,
      /^const: SIZE: 24 → 16; OFFSETS\.count removed; OFFSETS\.flags: 4 → 0/,
    );
    assert.equal(
      one(c, "ts-type-changed", "FuseCompoundOut").detail,
      "interface: count removed; padding: number added (required)",
    );

    assert.equal(
      one(c, "ts-value-type-changed", "decodeFuseCompoundIn").detail,
      "function: returns: count removed",
    );
    const encode = one(c, "ts-value-type-changed", "encodeFuseCompoundIn");
    assert.equal(encode.detail, "function: parameter value: count removed");
    assert.equal(
      encode.severity,
      "breaking",
      "an object literal with `count` fails the excess property check",
    );
    assert.match(encode.reason, /excess property/);
    assert.match(
      one(c, "ts-type-changed", "FuseRequest").detail,
      /\[FuseCompoundRequest\] compound_in\.count removed/,
    );

    // Unchanged API is not reported: the builder class, other structs and codecs.
    for (const name of [
      "CompoundBuilder",
      "FuseInHeader",
      "decodeFuseInHeader",
      "FuseOpcode",
      "CompoundError",
    ])
      none(c, name);
    assert.deepEqual(v5v6.renames, [], "nothing removed has an identical twin in v6");
    // Same field set as an ABI Change, so one JSON array carries both.
    for (const x of c)
      assert.deepEqual(Object.keys(x).sort(), ["detail", "kind", "reason", "severity", "subject"]);
    // Deterministic order: removals, changes, additions; by name within.
    const rank = (k: string) => (k === "ts-export-removed" ? 0 : k === "ts-export-added" ? 2 : 1);
    for (let i = 1; i < c.length; i++) assert.ok(rank(c[i - 1].kind) <= rank(c[i].kind));
  });
});

/** An invented "revision": one index.ts, no shared runtime. */
function api(label: string, index: string): ApiSource {
  return { label, files: new Map([["index.ts", index]]), runtime: new Map() };
}

const OLD = `
export const LIMIT = 7;
export const BIT = 2;
export const TABLE = { A: 1 } as const;
export interface Req { a: number }
export interface Opt { a: number }
export type Kind = "x" | "y";
export type Num = number;
export function widen(a: number): number { return a; }
export interface Shape { a: number; gone: number }
export function take(v: Shape): number { return v.a; }
export function narrow(a: number | string): number { return Number(a); }
export class Enc { #buf = new Uint8Array(1); size(): number { return this.#buf.length; } }
type Helper<X> = X extends number ? "n" : "o";
export type Wrap<T> = { [K in keyof T]: Helper<T[K]> };
export type Box<T> = { value: T };
export interface Gone { x: number }
export const OLD_NAME = 11;
export interface Both { a: number }
export const Both = { SIZE: 4 } as const;
`;

const NEW = `
export const LIMIT = 7;
export const BIT = 4;
export const TABLE = { A: 1, B: 2 } as const;
export interface Req { a: number; b: number }
export interface Opt { a: number; b?: number }
export type Kind = "x" | "y" | "z";
export type Num = number | bigint;
export function widen(a: number, b?: number): number { return a + (b ?? 0); }
export interface Shape { a: number }
export function take(v: Shape): number { return v.a; }
export function narrow(a: number): number { return a; }
export class Enc { #buf = new Uint8Array(2); #extra = 1; size(): number { return this.#buf.length + this.#extra; } }
type Helper<X> = X extends number ? "n" : "o";
export type Wrap<T> = { [K in keyof T]: Helper<T[K]> };
export type Box<T> = { value: T; extra: T };
export const NEW_NAME = 11;
export interface Both { a: number }
export const ADDED = 1;
`;

describe("the classification rules, on an invented API", () => {
  let d: TsApiDiff;
  before(() => {
    d = compareApis(api("old", OLD), api("new", NEW));
  });
  const sev = (kind: TsApiChange["kind"], subject: string) =>
    one(d.changes, kind, subject).severity;

  test("unchanged exports and private state are not reported", () => {
    none(d.changes, "LIMIT");
    none(d.changes, "Enc");
    none(d.changes, "Wrap");
  });

  test("values: assignable new → old is compatible; a literal changing is breaking", () => {
    assert.equal(sev("ts-value-type-changed", "TABLE"), "compatible");
    assert.equal(one(d.changes, "ts-value-type-changed", "TABLE").detail, "const: B: 2 added");
    assert.equal(sev("ts-value-type-changed", "BIT"), "breaking");
    assert.equal(sev("ts-value-type-changed", "widen"), "compatible");
    assert.equal(
      one(d.changes, "ts-value-type-changed", "widen").detail,
      "function: parameter b? added",
    );
    assert.equal(sev("ts-value-type-changed", "narrow"), "breaking");
    assert.equal(
      one(d.changes, "ts-value-type-changed", "narrow").detail,
      "function: parameter a: lost string",
    );
  });

  test("a function whose parameter type lost a property is breaking though assignable", () => {
    const take = one(d.changes, "ts-value-type-changed", "take");
    assert.equal(take.severity, "breaking");
    assert.equal(take.detail, "function: parameter v: gone removed");
    assert.equal(one(d.changes, "ts-type-changed", "Shape").detail, "interface: gone removed");
  });

  test("types: gaining literal members or optional properties is compatible; required properties and wider primitives are not", () => {
    assert.equal(sev("ts-type-changed", "Kind"), "compatible");
    assert.equal(one(d.changes, "ts-type-changed", "Kind").detail, 'type: gained "z"');
    assert.equal(sev("ts-type-changed", "Opt"), "compatible");
    assert.equal(sev("ts-type-changed", "Req"), "breaking");
    assert.equal(
      one(d.changes, "ts-type-changed", "Req").detail,
      "interface: b: number added (required)",
    );
    assert.equal(
      sev("ts-type-changed", "Num"),
      "breaking",
      "number → number | bigint breaks arithmetic on it",
    );
    assert.equal(
      sev("ts-type-changed", "Box"),
      "breaking",
      "generic types are compared with open parameters",
    );
    assert.equal(
      one(d.changes, "ts-type-changed", "Box").detail,
      "type: extra: T added (required)",
    );
  });

  test("exports and meanings removed are breaking, added are compatible; renames need an identical unique twin", () => {
    assert.equal(sev("ts-export-removed", "Gone"), "breaking");
    assert.equal(sev("ts-export-added", "ADDED"), "compatible");
    const both = one(d.changes, "ts-meaning-removed", "Both");
    assert.equal(both.severity, "breaking");
    assert.equal(both.detail, "no longer a value (was const); now interface");
    assert.deepEqual(d.renames, [
      {
        from: "OLD_NAME",
        to: "NEW_NAME",
        proof: "const: 11, identical type on both sides, no other candidate",
      },
    ]);
    assert.equal(d.oldExports.get("Both"), "interface+const");
    assert.equal(d.newExports.get("Both"), "interface");
  });
});

test("private members become optional public ones, private parameter properties plain parameters", () => {
  const text =
    "class A { readonly #x = 1; private y!: number; protected z(): number { return this.#x; } w = 3; constructor(private readonly p: number) {} }";
  assert.equal(
    publicizePrivates(text, "a.ts"),
    "class A { readonly __private_x? = 1;  y?: number;  z?(): number { return this.__private_x; } w = 3; constructor(  p: number) {} }",
  );
});

describe("`fuse-uapi diff` with the TypeScript API", () => {
  test("diff v5 v6 --fail-on breaking: exit 1, the TS section lists the symbols that changed", async () => {
    const r = await cli("diff", "v5", "v6", "--fail-on", "breaking");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, "");
    const [abi, ts] = r.stdout.split(/\n(?=TypeScript API: )/);
    assert.match(abi, /^v5 → v6: \d+ ABI change\(s\)/);
    assert.match(
      ts,
      /^TypeScript API: \d+ change\(s\) to the exported symbols, \d+ breaking, \d+ compatible\n/,
    );
    assert.match(
      ts,
      /BREAKING {4}ts-export-removed {2}FUSE_MAX_COMPOUND_OPS: const FUSE_MAX_COMPOUND_OPS: 16 removed/,
    );
    assert.match(ts, /BREAKING {4}ts-value-type-changed {2}FUSE_COMPOUND_ATOMIC: const: 2 → 4/);
    assert.match(ts, /BREAKING {4}ts-type-changed {2}FuseCompoundIn: interface: count removed/);
    assert.match(ts, /compatible {2}ts-export-added {2}FUSE_COMPOUND_CONTINUE/);
  });

  test("JSON: one array, ABI changes then ts- changes; exit 0 without --fail-on", async () => {
    const r = await cli("diff", "v5", "v6", "--format", "json");
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse(r.stdout) as { kind: string; subject: string }[];
    const firstTs = all.findIndex((c) => c.kind.startsWith("ts-"));
    assert.ok(firstTs > 0);
    assert.ok(
      all.slice(firstTs).every((c) => c.kind.startsWith("ts-")),
      "ABI first, TypeScript after",
    );
    assert.ok(
      all.some((c) => c.kind === "ts-export-removed" && c.subject === "FUSE_MAX_COMPOUND_OPS"),
    );
  });

  test("--fail-on with --no-ts: the ABI alone decides; bad values exit 2", async () => {
    const compatibleOnly = await cli("diff", "v4", "v5", "--no-ts", "--fail-on", "breaking");
    assert.equal(compatibleOnly.code, 0, compatibleOnly.stderr);
    assert.doesNotMatch(compatibleOnly.stdout, /TypeScript API/);
    assert.equal((await cli("diff", "v4", "v5", "--no-ts", "--fail-on", "compatible")).code, 1);
    assert.equal(
      (await cli("diff", "rfc-v1", "rfc-v2", "--no-ts", "--fail-on", "compatible")).code,
      0,
      "no ABI change at all",
    );
    const bad = await cli("diff", "v4", "v5", "--no-ts", "--fail-on", "sometimes");
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^fuse-uapi: unknown --fail-on 'sometimes' \(known: breaking, compatible, none\)\n$/,
    );
  });

  test("Markdown: a TypeScript API subsection after the ABI table; nothing computed → no section", () => {
    const labels = { from: "a", to: "b" };
    const ts: TsApiChange[] = [
      {
        kind: "ts-export-removed",
        subject: "X",
        detail: "const X: 1 removed",
        severity: "breaking",
        reason: "r",
      },
    ];
    const md = formatDiff([], labels, "md", ts);
    assert.equal(
      md,
      "## a → b\n\nNo ABI change.\n\n### TypeScript API\n\n1 change(s) to the exported symbols: 1 breaking, 0 compatible.\n\n| Severity | Change | Export | Detail | Why |\n| --- | --- | --- | --- | --- |\n| **breaking** | ts-export-removed | `X` | const X: 1 removed | r |\n",
    );
    assert.equal(formatDiff([], labels, "md"), "## a → b\n\nNo ABI change.\n");
    assert.equal(
      formatDiff([], labels, "text", []),
      "a → b: no ABI change\n\nTypeScript API: no change to the exported symbols\n",
    );
    assert.equal(formatDiff([], labels, "json", ts), JSON.stringify(ts, null, 2) + "\n");
  });
});
