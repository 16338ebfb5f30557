/**
 * FUSE_COMPOUND semantics as data: the `compound` entries of schema/known-revisions.json.
 *
 * Checks that every revision whose header has FUSE_COMPOUND carries an entry, that the
 * entry agrees with the revision's committed schema (schema/revisions/<name>.json), that
 * its citations point into the corpus, and that both validators (registry.ts and the
 * JSON Schema) reject malformed entries with messages naming the field.
 * Corpus-dependent checks skip, saying where they looked, when the corpus is absent.
 */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { Schema } from "../generator/model.js";
import {
  ADVANCE_RULES,
  COPY_WHEN_RULES,
  DECLINE_EFFECTS,
  DECLINE_ERRNOS,
  DEPENDENCY_MODELS,
  OUTER_MEMBER_ROLES,
  PREFIX_MEMBER_ROLES,
  PRODUCER_FAILED_RULES,
  EMPTY_COMPOUND_RULES,
  FALLBACK_ERROR_RULES,
  FALLBACK_TRIGGERS,
  MAX_OPS_SOURCES,
  OPS_BOUND_RULES,
  OPS_PARSED_RULES,
  OP_COUNT_SOURCES,
  OUT_PAGES_RULES,
  SERVER_ERROR_POLICIES,
  SUB_CRED_RULES,
  SUB_UNIQUE_RULES,
  type CompoundSemantics,
  type KnownRevision,
  RegistryError,
  corpusAvailable,
  corpusDir,
  loadKnownRevisions,
  parseKnownRevisions,
  repoRoot,
  resolveCompoundPath,
} from "../generator/revisions/registry.js";
import { memberWithRole } from "../runtime/compound.js";
import { skipOrFail } from "./helpers/skip.js";

const ROOT = repoRoot();
const readJson = async (rel: string): Promise<unknown> =>
  JSON.parse(await readFile(join(ROOT, rel), "utf8"));

let revisions: KnownRevision[];
const schemas = new Map<string, Schema>();

before(async () => {
  revisions = await loadKnownRevisions();
  for (const r of revisions)
    schemas.set(r.name, (await readJson(`schema/revisions/${r.name}.json`)) as Schema);
});

// ---- helpers over a revision schema ----

const opcodeMembers = (s: Schema) => s.enums.find((e) => e.name === "fuse_opcode")?.members ?? [];
const hasOpcode = (s: Schema, name: string) => opcodeMembers(s).some((m) => m.name === name);
const struct = (s: Schema, name: string) => {
  const st = s.structs.find((x) => x.name === name);
  assert.ok(st, `struct ${name} missing from the schema`);
  return st;
};
const fieldNames = (s: Schema, name: string) => struct(s, name).fields.map((f) => f.name);
const constant = (s: Schema, name: string) => s.constants.find((c) => c.name === name);

/** Revisions with a compound entry, as [name, entry, schema]. */
function compoundRevisions(): [string, CompoundSemantics, Schema][] {
  return revisions
    .filter((r) => r.compound)
    .map((r) => [r.name, r.compound as CompoundSemantics, schemas.get(r.name)!]);
}

describe("compound entries cover exactly the revisions with FUSE_COMPOUND", () => {
  test("an entry exists if and only if the header has the opcode", () => {
    for (const r of revisions) {
      const s = schemas.get(r.name)!;
      const has = hasOpcode(s, "FUSE_COMPOUND");
      if (has)
        assert.ok(
          r.compound,
          `${r.name}: header has FUSE_COMPOUND but the registry entry has no "compound"`,
        );
      else
        assert.ok(
          r.compound === undefined || r.compound === null,
          `${r.name}: "compound" given but the header has no FUSE_COMPOUND`,
        );
    }
    // The series as of this writing: the base has none, every posting has one.
    assert.deepEqual(
      revisions.filter((r) => r.compound).map((r) => r.name),
      ["rfc-v1", "rfc-v2", "rfc-v3", "v4", "v5", "v6", "v7"],
    );
  });
});

describe("compound entries agree with their revision's header", () => {
  test("opcode exists, and the framing gives a role to exactly the members of each struct", () => {
    for (const [name, c, s] of compoundRevisions()) {
      assert.ok(hasOpcode(s, c.opcode), `${name}: opcode ${c.opcode} not in enum fuse_opcode`);
      const framed = [
        c.framing.request,
        c.framing.reply,
        c.framing.subRequestPrefix,
        c.framing.subReplyPrefix,
      ].filter((f) => f !== null);
      for (const f of framed)
        assert.deepEqual(
          Object.keys(f.members).sort(),
          fieldNames(s, f.struct).sort(),
          `${name}: ${f.struct} roles`,
        );
      // A count travels in both directions or in neither; a header constant names the dependency sentinel.
      assert.equal(
        memberWithRole(c.framing.request, "count") !== null,
        memberWithRole(c.framing.reply, "count") !== null,
        name,
      );
      const none = c.dependencies.noDependency;
      if (none?.constant)
        assert.equal(
          Number(constant(s, none.constant)?.value),
          none.value,
          `${name}: ${none.constant}`,
        );
    }
  });

  test("maxOps is FUSE_MAX_COMPOUND_OPS exactly when the header defines it", () => {
    for (const [name, c, s] of compoundRevisions()) {
      const k = constant(s, "FUSE_MAX_COMPOUND_OPS");
      if (k) {
        assert.equal(c.maxOpsSource, "FUSE_MAX_COMPOUND_OPS", name);
        assert.equal(c.maxOps, Number(k.value), `${name}: maxOps must equal FUSE_MAX_COMPOUND_OPS`);
      } else {
        assert.equal(
          c.maxOps,
          null,
          `${name}: no FUSE_MAX_COMPOUND_OPS in the header, so maxOps must be null`,
        );
        assert.notEqual(c.maxOpsSource, "FUSE_MAX_COMPOUND_OPS", name);
      }
    }
  });

  test("flags.defined lists exactly the header's FUSE_COMPOUND_* flag constants, with their values", () => {
    for (const [name, c, s] of compoundRevisions()) {
      const sentinel = c.dependencies.noDependency?.constant;
      const inHeader = s.constants
        .filter((k) => k.name.startsWith("FUSE_COMPOUND_") && k.name !== sentinel)
        .map((k) => [k.name, Number(k.value)]);
      const listed = c.flags.defined.map((f) => [f.name, f.value]);
      const byName = (a: (string | number)[], b: (string | number)[]) =>
        String(a[0]).localeCompare(String(b[0]));
      assert.deepEqual(
        listed.sort(byName),
        inHeader.sort(byName),
        `${name}: flags.defined vs the header's constants`,
      );
    }
  });

  test("sub-header and sub-reply rules name every field of fuse_in_header / fuse_out_header", () => {
    for (const [name, c, s] of compoundRevisions()) {
      assert.deepEqual(
        Object.keys(c.subHeader).sort(),
        fieldNames(s, "fuse_in_header").sort(),
        `${name}: subHeader keys`,
      );
      assert.deepEqual(
        Object.keys(c.subReplyHeader).sort(),
        fieldNames(s, "fuse_out_header").sort(),
        `${name}: subReplyHeader keys`,
      );
    }
  });

  test("minOpLen is sizeof(fuse_out_header)", () => {
    for (const [name, c, s] of compoundRevisions())
      assert.equal(c.replyChecks.minOpLen, struct(s, "fuse_out_header").size, name);
  });

  test("the kernel's own sequences use opcodes of the header", () => {
    for (const [name, c, s] of compoundRevisions()) {
      for (const seq of c.kernelSequences)
        for (const op of seq.ops)
          assert.ok(hasOpcode(s, op), `${name}: ${op} not in enum fuse_opcode`);
    }
  });
});

describe("compound entries: what the mails say, pinned", () => {
  const get = (name: string) => {
    const c = revisions.find((r) => r.name === name)?.compound;
    assert.ok(c, name);
    return c;
  };

  test("sub-request unique: fresh ids in RFC v1/v2, 0 in RFC v3 to v5, the op index in v6 and v7", () => {
    assert.deepEqual(
      ["rfc-v1", "rfc-v2", "rfc-v3", "v4", "v5", "v6", "v7"].map((n) => get(n).subHeader.unique),
      ["fresh-unique", "fresh-unique", "zero", "zero", "zero", "op-index", "op-index"],
    );
  });

  test("v7: a dep_index prefix with 0xff for none, nodeid threading from entry producers, two decline errnos, no flags", () => {
    const v7 = get("v7");
    assert.deepEqual(v7.framing.request.members, { reserved: "reserved" });
    assert.deepEqual(v7.framing.subRequestPrefix, {
      struct: "fuse_compound_req_in",
      members: { dep_index: "dep-index", reserved: "reserved" },
    });
    assert.equal(v7.resultSize, null);
    assert.deepEqual(v7.flags.defined, []);
    assert.equal(v7.dependencies.model, "index");
    assert.deepEqual(v7.dependencies.noDependency, {
      value: 255,
      constant: "FUSE_COMPOUND_NO_DEP",
    });
    assert.deepEqual(
      v7.dependencies.threads.map((t) => [t.producers.length, t.from, t.into]),
      [[7, { part: "entry_out", member: "nodeid" }, "nodeid"]],
    );
    assert.equal(v7.dependencies.producerFailed, "inherit-error");
    assert.equal(v7.dependencies.invalidReference, "EINVAL");
    assert.deepEqual(v7.decline, [
      { errno: "ENOSYS", effect: "disable-and-split" },
      { errno: "EOPNOTSUPP", effect: "split" },
    ]);
    assert.equal(v7.onOpError.fallback, "continue");
  });

  test("v6: no count, credentials zeroed, walk to the end, kernel fallback unless ATOMIC", () => {
    const v6 = get("v6");
    assert.equal(memberWithRole(v6.framing.request, "count"), null);
    assert.equal(v6.opCountFrom, "sub-request-lengths");
    assert.deepEqual(
      [v6.subHeader.uid, v6.subHeader.gid, v6.subHeader.pid],
      ["zero", "zero", "zero"],
    );
    assert.equal(v6.replyChecks.opsParsed, "until-end");
    assert.equal(v6.fallback.kernelSplits, true);
    assert.equal(v6.fallback.suppressedBy, "FUSE_COMPOUND_ATOMIC");
    assert.equal(v6.fallback.stopUnless, "FUSE_COMPOUND_CONTINUE");
    assert.deepEqual(
      v6.flags.defined.map((f) => [f.name, f.value]),
      [
        ["FUSE_COMPOUND_SEPARABLE", 1],
        ["FUSE_COMPOUND_CONTINUE", 2],
        ["FUSE_COMPOUND_ATOMIC", 4],
      ],
    );
  });

  test("only v7 compares unique, none requires the counts to match; only RFC v1/v2 check sub-requests before sending", () => {
    for (const [name, c] of compoundRevisions()) {
      assert.equal(c.replyChecks.uniqueMustMatch, name === "v7", name);
      assert.equal(c.replyChecks.countMustMatch, false, name);
      assert.equal(
        c.subRequestChecks.validatedBeforeSend,
        name === "rfc-v1" || name === "rfc-v2",
        name,
      );
    }
  });

  test("every revision sends OPEN+GETATTR and OPENDIR+GETATTR, SEPARABLE from v5 on", () => {
    for (const [name, c] of compoundRevisions().filter(([n]) => n !== "v7")) {
      const seqs = c.kernelSequences.map((s) => `${s.ops.join("+")}:${s.flags.join("|")}`);
      const f = name === "v5" || name === "v6" ? "FUSE_COMPOUND_SEPARABLE" : "";
      assert.deepEqual(
        seqs,
        [`FUSE_OPEN+FUSE_GETATTR:${f}`, `FUSE_OPENDIR+FUSE_GETATTR:${f}`],
        name,
      );
    }
  });
});

describe("compound citations", () => {
  const corpus = corpusDir();
  test("every source names lines that exist in its mail, and each revision cites its own mails", async (t) => {
    if (!corpusAvailable(corpus)) return skipOrFail(t, `corpus not found at ${corpus}`);
    const lineCounts = new Map<string, number>();
    for (const [name, c] of compoundRevisions()) {
      const files = [
        ...c.sources.map((s) => s.file),
        ...c.kernelSequences.map((s) => s.source),
        ...c.relatedSequences.map((s) => s.source),
      ];
      for (const f of files) {
        if (!lineCounts.has(f))
          lineCounts.set(
            f,
            (await readFile(join(corpus, "compound", f), "utf8")).split("\n").length,
          );
      }
      for (const s of c.sources) {
        assert.ok(
          s.lines[1] <= lineCounts.get(s.file)!,
          `${name}: ${s.file} has ${lineCounts.get(s.file)} lines, cited ${s.lines.join("-")}`,
        );
      }
      // A revision cites its own mails, or (known without mails) its own folder of facts.
      assert.ok(
        c.sources.some((s) => s.file.startsWith(`${name}-`) || s.file.startsWith(`${name}/`)),
        `${name}: no source is a mail or facts file of this revision`,
      );
    }
  });

  test("about paths resolve", () => {
    for (const [name, c] of compoundRevisions()) {
      for (const s of c.sources)
        for (const p of s.about) assert.ok(resolveCompoundPath(c, p), `${name}: ${p}`);
    }
    const v6 = revisions.find((r) => r.name === "v6")!.compound!;
    assert.ok(resolveCompoundPath(v6, "flags.defined.FUSE_COMPOUND_ATOMIC.value"));
    assert.ok(resolveCompoundPath(v6, "kernelSequences.FUSE_OPEN+FUSE_GETATTR.flags"));
    assert.ok(resolveCompoundPath(v6, "kernelSequences.1.ops"));
    assert.ok(!resolveCompoundPath(v6, "flags.defined.FUSE_COMPOUND_NOPE"));
    assert.ok(!resolveCompoundPath(v6, "subHeader.nope"));
  });
});

describe("malformed compound entries are rejected", () => {
  /** The project registry with one compound entry (v6's) changed by `edit`. */
  async function registryWith(
    edit: (c: Record<string, any>) => void,
  ): Promise<{ revisions: Record<string, any>[] }> {
    const data = (await readJson("schema/known-revisions.json")) as {
      revisions: Record<string, any>[];
    };
    const v6 = data.revisions.find((r) => r.name === "v6")!;
    edit(v6.compound);
    return data;
  }

  const problemsOf = (data: unknown): string[] => {
    try {
      parseKnownRevisions(data, "bad.json");
    } catch (e) {
      assert.ok(e instanceof RegistryError, String(e));
      assert.match(e.message, /^bad\.json is not a valid revision registry/);
      return e.problems;
    }
    assert.fail("parseKnownRevisions accepted a malformed compound entry");
  };

  let validateSchema: ReturnType<Ajv2020["compile"]>;
  before(async () => {
    validateSchema = new Ajv2020({ strict: false, allErrors: true }).compile(
      (await readJson("schema/known-revisions.schema.json")) as object,
    );
  });

  test("the project registry passes both validators", async () => {
    const data = await readJson("schema/known-revisions.json");
    assert.doesNotThrow(() => parseKnownRevisions(data, "known-revisions.json"));
    assert.ok(validateSchema(data), JSON.stringify(validateSchema.errors?.slice(0, 3)));
  });

  const cases: [string, (c: Record<string, any>) => void, RegExp][] = [
    [
      "an unknown sub-header rule",
      (c) => (c.subHeader.unique = "copy"),
      /revisions\[\d+\] \(v6\)\.compound\.subHeader\.unique: must be one of "fresh-unique", "zero", "op-index", got "copy"/,
    ],
    [
      "a missing key",
      (c) => delete c.replyChecks.countMustMatch,
      /compound\.replyChecks\.countMustMatch: missing/,
    ],
    [
      "an extra key",
      (c) => (c.replyChecks.strict = true),
      /compound\.replyChecks\.strict: unknown property/,
    ],
    [
      "a count in the request only",
      (c) => (c.framing.request.members.reserved = "count"),
      /compound\.framing: request and reply both have a count member, or neither has/,
    ],
    [
      "a role that does not exist",
      (c) => (c.framing.request.members.flags = "options"),
      /compound\.framing\.request\.members\.flags: must be one of "count", "flags", "result-size", "reserved", got "options"/,
    ],
    [
      "a dependency model without a dep-index member",
      (c) => (c.dependencies.model = "index"),
      /compound\.dependencies\.model: "index" needs a dep-index member in framing\.subRequestPrefix/,
    ],
    [
      "a decline errno listed twice",
      (c) => c.decline.push({ errno: "any", effect: "split" }),
      /compound\.decline\[1\]\.errno: any is listed twice/,
    ],
    [
      "a decline effect that is not known",
      (c) => (c.decline[0].effect = "retry"),
      /compound\.decline\[0\]\.effect: must be one of "caller-fallback", "split", "disable-and-split", got "retry"/,
    ],
    [
      "maxOps with a caller capacity",
      (c) => (c.maxOps = 16),
      /compound\.maxOps: a number exactly when maxOpsSource is "FUSE_MAX_COMPOUND_OPS"/,
    ],
    [
      "a sequence flag that is not defined",
      (c) => (c.kernelSequences[0].flags = ["FUSE_COMPOUND_BOGUS"]),
      /kernelSequences\[0\]\.flags\[0\]: names FUSE_COMPOUND_BOGUS, which is not in flags\.defined/,
    ],
    [
      "a flag value that is not one bit",
      (c) => (c.flags.defined[2].value = 6),
      /flags\.defined\[2\]\.value: must be a single bit, got 6/,
    ],
    [
      "a reversed line range",
      (c) => (c.sources[0].lines = [20, 10]),
      /sources\[0\]\.lines: must be \[first, last\]/,
    ],
    [
      "a stale about path",
      (c) => (c.sources[0].about = ["subHeader.nope"]),
      /sources\[0\]\.about\[0\]: "subHeader\.nope" does not name a field/,
    ],
    [
      "a fallback flag with kernelSplits false",
      (c) => (c.fallback.kernelSplits = false),
      /compound\.fallback: trigger, suppressedBy, stopUnless and onOpError\.fallback must be null/,
    ],
    [
      "not an object",
      (c) => Object.assign(c, { subHeader: "zero" }),
      /compound\.subHeader: must be an object, got "zero"/,
    ],
  ];

  for (const [what, edit, message] of cases) {
    test(`${what}: registry.ts names the field`, async () => {
      const problems = problemsOf(await registryWith(edit));
      assert.ok(
        problems.some((p) => message.test(p)),
        `expected a problem matching ${message}, got:\n  ${problems.join("\n  ")}`,
      );
    });
  }

  // Cases the JSON Schema can express too (the cross-field rules it states with if/then).
  for (const [what, edit] of cases.filter(
    ([w]) =>
      !/not defined|stale about|not one bit|reversed|count in the request|dep-index member|listed twice/.test(
        w,
      ),
  )) {
    test(`${what}: the JSON Schema rejects it too`, async () => {
      assert.equal(validateSchema(await registryWith(edit)), false);
    });
  }

  test("a source nobody cites: every field group needs support", async () => {
    const problems = problemsOf(
      await registryWith(
        (c) =>
          (c.sources = c.sources.filter(
            (s: { about: string[] }) => !s.about.some((p) => p.startsWith("fallback")),
          )),
      ),
    );
    assert.ok(
      problems.some((p) => /compound\.fallback: no source supports it/.test(p)),
      problems.join("\n"),
    );
  });

  test("setByKernel must agree with the sequences", async () => {
    const problems = problemsOf(await registryWith((c) => (c.flags.defined[1].setByKernel = true)));
    assert.ok(
      problems.some((p) =>
        /flags\.defined\.FUSE_COMPOUND_CONTINUE\.setByKernel: is true but no kernelSequences entry sets the flag/.test(
          p,
        ),
      ),
      problems.join("\n"),
    );
  });

  test("the JSON Schema's enums are the ones registry.ts exports", async () => {
    const schema = (await readJson("schema/known-revisions.schema.json")) as {
      $defs: { compound: { properties: Record<string, any> } };
    };
    const p = schema.$defs.compound.properties;
    const enumAt = (node: { enum?: unknown[] }) => (node.enum ?? []).filter((v) => v !== null);
    const pairs: [string, { enum?: unknown[] }, readonly string[]][] = [
      ["subHeader.unique", p.subHeader.properties.unique, SUB_UNIQUE_RULES],
      ["subHeader.uid", p.subHeader.properties.uid, SUB_CRED_RULES],
      ["opCountFrom", p.opCountFrom, OP_COUNT_SOURCES],
      ["maxOpsSource", p.maxOpsSource, MAX_OPS_SOURCES],
      ["emptyCompound", p.emptyCompound, EMPTY_COMPOUND_RULES],
      ["outPages", p.outPages, OUT_PAGES_RULES],
      ["replyChecks.opsParsed", p.replyChecks.properties.opsParsed, OPS_PARSED_RULES],
      ["replyChecks.opsBound", p.replyChecks.properties.opsBound, OPS_BOUND_RULES],
      ["replyChecks.advance", p.replyChecks.properties.advance, ADVANCE_RULES],
      ["replyChecks.copyWhen", p.replyChecks.properties.copyWhen, COPY_WHEN_RULES],
      ["onOpError.fallback", p.onOpError.properties.fallback, FALLBACK_ERROR_RULES],
      ["onOpError.serverPolicy", p.onOpError.properties.serverPolicy, SERVER_ERROR_POLICIES],
      ["fallback.trigger", p.fallback.properties.trigger, FALLBACK_TRIGGERS],
      ["decline.errno", p.decline.items.properties.errno, DECLINE_ERRNOS],
      ["decline.effect", p.decline.items.properties.effect, DECLINE_EFFECTS],
      [
        "framing.request roles",
        p.framing.properties.request.properties.members.additionalProperties,
        OUTER_MEMBER_ROLES,
      ],
      [
        "framing.subRequestPrefix roles",
        p.framing.properties.subRequestPrefix.anyOf[0].properties.members.additionalProperties,
        PREFIX_MEMBER_ROLES,
      ],
      ["dependencies.model", p.dependencies.properties.model, DEPENDENCY_MODELS],
      [
        "dependencies.producerFailed",
        p.dependencies.properties.producerFailed,
        PRODUCER_FAILED_RULES,
      ],
    ];
    for (const [path, node, values] of pairs) assert.deepEqual(enumAt(node), [...values], path);
  });

  test("null and absent compound are both accepted", async () => {
    const data = (await readJson("schema/known-revisions.json")) as {
      revisions: Record<string, unknown>[];
    };
    data.revisions[0].compound = null;
    assert.doesNotThrow(() => parseKnownRevisions(data, "null.json"));
    assert.ok(validateSchema(data));
  });
});
