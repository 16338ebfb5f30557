/**
 * `fuse-uapi layout`: the layout view (holes, tail padding, nested anonymous
 * records) against the schema's own padding facts, the pahole-style text of
 * the example, target grouping, and the CLI's errors. That the text
 * equals pahole's own is test/layout-pahole.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { layoutText } from "../generator/commands/layout.js";
import { committedRevisions, resolveSchemaArg } from "../generator/diff/resolve.js";
import { type StructDef, TARGETS } from "../generator/model.js";
import { allGaps, declarator, structView } from "../generator/report/layout-view.js";
import { groupTargets, paholeStruct } from "../generator/report/pahole.js";
import { repoRoot } from "../generator/revisions/registry.js";
import { loadSchemaFile } from "../generator/schema-file.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const GOLDEN = join(repoRoot(), "test", "fixtures", "golden");

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: repoRoot() });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function struct(schemaArg: string, name: string): StructDef {
  const def = resolveSchemaArg(schemaArg).schema.structs.find((s) => s.name === name);
  assert.ok(def, `${name} in ${schemaArg}`);
  return def;
}

test("holes and tail padding equal the schema's padding facts, for every struct of every committed revision and target", () => {
  let structs = 0;
  let gaps = 0;
  const revisions = committedRevisions();
  assert.ok(revisions.length >= 8, `committed revisions: ${revisions.join(", ")}`);
  const schemas = [
    ...revisions.map((r) => resolveSchemaArg(r).schema),
    loadSchemaFile(join(GOLDEN, "padding.schema.json")),
  ];
  for (const schema of schemas) {
    for (const def of schema.structs) {
      for (const t of TARGETS) {
        const v = structView(def, t);
        // The schema's padding list covers the top level; an anonymous member's inner gaps would be extra.
        const top = v.gaps.map((g) => ({ offset: g.offset, size: g.size }));
        assert.deepEqual(
          top,
          def.layout[t].padding.map((p) => ({ offset: p.offset, size: p.size })),
          `${def.name} on ${t}`,
        );
        // Every byte is a member's or a gap's, exactly once (structs; union members overlap by design).
        if (!def.union && !def.fields.some((f) => f.type.kind === "record")) {
          const covered =
            v.members.reduce((n, m) => n + m.size, 0) + v.gaps.reduce((n, g) => n + g.size, 0);
          assert.equal(covered, v.size, `${def.name} on ${t}: members + gaps = size`);
        }
        structs++;
        gaps += v.gaps.length;
      }
    }
  }
  assert.ok(structs > 1800 && gaps > 10, `${structs} struct layouts, ${gaps} gaps`);
});

test("anonymous members: their own holes count, with absolute offsets", () => {
  // demo_anon has none; an invented struct with a hole inside an anonymous struct member shows one.
  const anon = loadSchemaFile(join(GOLDEN, "anonymous-members.schema.json")).structs[0];
  const v = structView(anon, "x86_64");
  assert.deepEqual(allGaps(v), []);
  const union = v.members.find((m) => m.record?.union);
  assert.deepEqual(
    union?.record?.members.map((m) => [m.name, m.offset, m.size]),
    [
      ["offset", 8, 8],
      ["index", 8, 4],
    ],
  );
  const inner = v.members.find((m) => m.record && !m.record.union);
  assert.deepEqual(
    inner?.record?.members.map((m) => [m.name, m.offset]),
    [
      ["major", 16],
      ["minor", 20],
    ],
  );
});

test("declarators keep pointers and the header's array spelling", () => {
  const ptrs = loadSchemaFile(join(GOLDEN, "pointers-long.schema.json")).structs[0];
  assert.deepEqual(
    ptrs.fields.map((f) => `${f.ctype} ${declarator(f.type, f.name ?? "")}`),
    [
      "void *cookie",
      "char *name",
      "struct demo_ptrs *next",
      "__u32 *counter",
      "unsigned long len",
      "long delta",
      "char **argv",
      "void **slots",
    ],
  );
  const arrays = loadSchemaFile(join(GOLDEN, "arrays.schema.json")).structs[0];
  assert.deepEqual(
    arrays.fields.map((f) => declarator(f.type, f.name ?? "")),
    ["name[DEMO_NAME_LEN]", "slots[DEMO_SLOTS]", "grid[2][3]", "tag[4]", "words[2]"],
  );
});

test("rfc-v1 fuse_compound_in: the 4-byte hole after result_size on x86_64 and aarch64, none on i386", () => {
  const def = struct("rfc-v1", "fuse_compound_in");
  assert.equal(
    paholeStruct(def, TARGETS),
    [
      "struct fuse_compound_in {                                /* x86_64, aarch64: size 24, align 8 */",
      "        uint32_t                   count;                /*     0     4 */",
      "        uint32_t                   flags;                /*     4     4 */",
      "        uint32_t                   result_size;          /*     8     4 */",
      "",
      "        /* XXX 4 bytes hole, try to pack */",
      "",
      "        uint64_t                   reserved;             /*    16     8 */",
      "",
      "        /* size: 24, cachelines: 1, members: 4 */",
      "        /* sum members: 20, holes: 1, sum holes: 4 */",
      "        /* last cacheline: 24 bytes */",
      "};",
      "",
      "struct fuse_compound_in {                                /* i386: size 20, align 4 */",
      "        uint32_t                   count;                /*     0     4 */",
      "        uint32_t                   flags;                /*     4     4 */",
      "        uint32_t                   result_size;          /*     8     4 */",
      "        uint64_t                   reserved;             /*    12     8 */",
      "",
      "        /* size: 20, cachelines: 1, members: 4 */",
      "        /* last cacheline: 20 bytes */",
      "};",
      "",
    ].join("\n"),
  );
  // The same struct in v6 no longer differs: one block for all targets.
  const v6 = groupTargets(struct("v6", "fuse_compound_in"), TARGETS);
  assert.deepEqual(
    v6.map((g) => g.targets),
    [["x86_64", "i386", "aarch64"]],
  );
});

test("targets that differ only in the struct's alignment share a block that says so", () => {
  const text = paholeStruct(struct("base-7.45", "fuse_attr_out"), TARGETS);
  assert.equal(text.match(/^struct fuse_attr_out \{/gm)?.length, 1);
  assert.match(text, /\/\* x86_64, i386, aarch64: size 104, align 8 \(i386: 4\) \*\//);
  assert.match(text, /struct fuse_attr\s+attr;\s+\/\*\s+16\s+88 \*\//);
  assert.match(
    text,
    /\/\* size: 104, cachelines: 2, members: 4 \*\/\n\s+\/\* last cacheline: 40 bytes \*\//,
  );
});

test("holes, tail padding, unions and several structs: totals per block and per target", () => {
  const file = join(GOLDEN, "padding.schema.json");
  const text = layoutText(file, [], { target: ["i386"] });
  assert.match(text, /struct demo_holes \{\s+\/\* i386: size 24, align 4 \*\//);
  assert.match(
    text,
    /id;\s+\/\*\s+8\s+2 \*\/\n\n\s+\/\* XXX 2 bytes hole, try to pack \*\/\n\n\s+__u64\s+off;\s+\/\*\s+12\s+8 \*\//,
  );
  assert.match(text, /\/\* sum members: 16, holes: 2, sum holes: 5 \*\/\n\s+\/\* padding: 3 \*\//);
  assert.match(text, /union demo_padded_union \{\s+\/\* i386: size 12, align 4 \*\//);
  assert.doesNotMatch(text, /x86_64|aarch64/, "--target i386 shows i386 only");
  assert.match(
    text,
    /\/\* i386: 4 structs, 1 with holes, holes: 2, sum holes: 5, sum padding: 3 \*\/\n$/,
  );
  // Flexible arrays: 0 bytes at the end, not in the size.
  const flex = layoutText(join(GOLDEN, "flexible-arrays.schema.json"), ["demo_name_entry"], {
    target: ["x86_64"],
  });
  assert.match(flex, /char\s+name\[\];\s+\/\*\s+16\s+0 \*\//);
  assert.match(flex, /size: 16,/);
});

test("cacheline marks as pahole prints them", () => {
  const text = paholeStruct(struct("base-7.45", "fuse_direntplus"), ["x86_64"]);
  assert.match(
    text,
    /entry_out;\s+\/\*\s+0\s+128 \*\/\n\s+\/\* --- cacheline 2 boundary \(128 bytes\) --- \*\/\n\s+struct fuse_dirent\s+dirent;/,
  );
});

test("CLI: layout rfc-v1 fuse_compound_in, --target, struct prefix and schema files", () => {
  let r = cli(["layout", "rfc-v1", "fuse_compound_in"]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, paholeStruct(struct("rfc-v1", "fuse_compound_in"), TARGETS));
  r = cli(["layout", "rfc-v1", "struct fuse_compound_in", "--target", "i386"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^struct fuse_compound_in \{\s+\/\* i386: size 20, align 4 \*\//);
  assert.doesNotMatch(r.out, /XXX/);
  r = cli(["layout", "rfc-v1", "fuse_compound_in", "--target", "x86_64", "--target", "aarch64"]);
  assert.match(r.out, /x86_64, aarch64: size 24/);
  r = cli(["layout", join(GOLDEN, "named-union.schema.json")]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^union demo_value \{/m);
  assert.match(r.out, /^\/\* aarch64: 2 structs,/m);
  r = cli(["layout", "rfc-v1"]);
  assert.equal(r.code, 0, r.err);
  // Every struct in header order, one block per distinct layout, then the totals of each target.
  const all = resolveSchemaArg("rfc-v1").schema.structs;
  const heads = [...r.out.matchAll(/^(?:struct|union) (\w+) \{/gm)].map((m) => m[1]);
  assert.deepEqual(
    heads,
    all.flatMap((d) => groupTargets(d, TARGETS).map(() => d.name)),
  );
  assert.equal(
    heads.filter((h) => h === "fuse_compound_in").length,
    2,
    "the one struct whose layout differs gets two blocks",
  );
  assert.equal(heads.length, all.length + 1);
  assert.match(
    r.out,
    new RegExp(
      `/\\* x86_64: ${all.length} structs, 1 with holes, holes: 1, sum holes: 4, sum padding: 0 \\*/\n`,
    ),
  );
  assert.match(
    r.out,
    new RegExp(
      `/\\* i386: ${all.length} structs, 0 with holes, holes: 0, sum holes: 0, sum padding: 0 \\*/\n`,
    ),
  );
});

test("CLI: bad input is one line on stderr and exit 2", () => {
  const cases: [string[], RegExp][] = [
    [
      ["layout", "rfc-v1", "fuse_nope"],
      /^fuse-uapi: unknown struct 'fuse_nope' in rfc-v1 \(known: fuse_attr, fuse_sx_time, .*, fuse_compound_in, fuse_compound_out, .*\)$/,
    ],
    [
      ["layout", "rfc-v1", "fuse_compound_in", "--target", "mips"],
      /^fuse-uapi: unknown target 'mips' \(known: x86_64, i386, aarch64, all\)$/,
    ],
    [["layout", "rfc-v99"], /^fuse-uapi: unknown revision 'rfc-v99' \(known: .*rfc-v1.*\)$/],
    [["layout", "/nonexistent/x.json"], /^fuse-uapi: \/nonexistent\/x\.json: no such schema file$/],
    [["layout", join(GOLDEN, "padding.h")], /not JSON/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.equal(r.out, "");
    assert.equal(r.err.trim().split("\n").length, 1, `one line: ${r.err}`);
    assert.match(r.err.trim(), message);
  }
  const r = cli(["layout"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /missing required argument 'schema'/);
});
