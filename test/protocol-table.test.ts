/**
 * The protocol table (schema/protocol.json) against every committed schema:
 * every opcode and notification code of each header has an entry (or is
 * reserved), every struct it names exists, sizes and counts make sense, and
 * the protocol section of each schema is exactly the table fitted to it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { MessagePart, Schema } from "../generator/model.js";
import { loadProtocolTable, resolveProtocol } from "../generator/protocol.js";
import { repoRoot } from "../generator/revisions/registry.js";

const REVISIONS = join(repoRoot(), "schema", "revisions");
const schemas: [string, Schema][] = readdirSync(REVISIONS)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => [
    f.replace(/\.json$/, ""),
    JSON.parse(readFileSync(join(REVISIONS, f), "utf8")) as Schema,
  ]);

test("there are committed schemas to check", () => {
  assert.ok(schemas.length >= 7, `found ${schemas.map(([n]) => n).join(", ")}`);
});

test("the table itself validates against schema/protocol.schema.json", () => {
  const table = loadProtocolTable();
  assert.ok(Object.keys(table.opcodes).length > 40);
  assert.ok(Object.keys(table.notifications).length > 5);
  for (const [name, entry] of Object.entries(table.opcodes)) {
    assert.ok(
      "reserved" in entry || ("request" in entry && "reply" in entry),
      `${name}: request and reply, or reserved`,
    );
  }
});

test("an invalid table is rejected with the path of the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-protocol-"));
  try {
    const path = join(dir, "protocol.json");
    writeFileSync(
      path,
      JSON.stringify({
        opcodes: { FUSE_LOOKUP: { request: [{ nonsense: 1 }], reply: { kind: "empty" } } },
        notifications: {},
        compatSizes: [],
        replyErrors: { min: -511, why: "x" },
        direntNames: { maxBytes: 1024, why: "x" },
      }),
    );
    assert.throws(() => loadProtocolTable(path), /protocol\.json: \/opcodes\/FUSE_LOOKUP/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [rev, schema] of schemas) {
  describe(`revision ${rev}`, () => {
    const protocol = schema.protocol;
    const structs = new Map(schema.structs.map((s) => [s.name, s]));
    const fieldEnds = (name: string, base = 0, out = new Set<number>()): Set<number> => {
      for (const f of structs.get(name)?.fields ?? []) {
        out.add(base + f.offset + f.size);
        if (f.type.kind === "struct") fieldEnds(f.type.name, base + f.offset, out);
      }
      return out;
    };
    const members = (e: string) => schema.enums.find((x) => x.name === e)?.members ?? [];

    test("has a protocol section", () => {
      assert.ok(protocol, `${rev}.json has no protocol section`);
    });
    if (!protocol) return;

    test("every opcode of enum fuse_opcode has an entry or is reserved", () => {
      const listed = new Set([...protocol.opcodes.map((o) => o.name), ...protocol.reserved]);
      const ops = members("fuse_opcode");
      assert.ok(ops.length > 40);
      for (const m of ops) assert.ok(listed.has(m.name), `${m.name} (${m.value}) has no entry`);
      for (const o of protocol.opcodes) {
        assert.equal(
          o.value,
          ops.find((m) => m.name === o.name)?.value,
          `${o.name}: value from the header`,
        );
      }
      assert.equal(
        new Set(protocol.opcodes.map((o) => o.value)).size,
        protocol.opcodes.length,
        "opcode values are unique",
      );
    });

    test("every notification code of enum fuse_notify_code has an entry or is reserved", () => {
      const listed = new Set([...protocol.notifications.map((n) => n.name), ...protocol.reserved]);
      const codes = members("fuse_notify_code");
      assert.ok(codes.length > 5);
      for (const m of codes) assert.ok(listed.has(m.name), `${m.name} (${m.value}) has no entry`);
    });

    const messages: [string, MessagePart[]][] = [
      ...protocol.opcodes.map((o): [string, MessagePart[]] => [`${o.name} request`, o.request]),
      ...protocol.opcodes.map((o): [string, MessagePart[]] => [
        `${o.name} reply`,
        o.reply.kind === "parts" ? o.reply.parts : [],
      ]),
      ...protocol.notifications.map((n): [string, MessagePart[]] => [n.name, n.parts]),
    ];

    test("every struct the table names exists in the header", () => {
      for (const [where, parts] of messages) {
        for (const p of parts) {
          if (p.kind === "struct" || p.kind === "array")
            assert.ok(structs.has(p.struct), `${where}: struct ${p.struct}`);
        }
      }
      for (const c of protocol.compatSizes)
        assert.ok(structs.has(c.struct), `compat size of ${c.struct}`);
      for (const s of ["fuse_in_header", "fuse_out_header"]) assert.ok(structs.has(s), s);
      const kinds = new Set(protocol.opcodes.map((o) => o.reply.kind));
      if (kinds.has("xattr")) assert.ok(structs.has("fuse_getxattr_out"));
      if (kinds.has("dirents") || kinds.has("direntplus")) {
        assert.ok(structs.has("fuse_dirent"));
        assert.equal(
          schema.macros.find((m) => m.name === "FUSE_DIRENT_ALIGN")?.helper?.kind,
          "align",
        );
      }
      if (kinds.has("direntplus")) assert.ok(structs.has("fuse_direntplus"));
    });

    test("message shapes: parts named once, data and arrays last, array counts in an earlier struct", () => {
      for (const [where, parts] of messages) {
        const fields = parts.map((p) => p.field);
        assert.equal(new Set(fields).size, fields.length, `${where}: part names are unique`);
        parts.forEach((p, i) => {
          if (p.kind === "data" || p.kind === "array")
            assert.equal(i, parts.length - 1, `${where}: ${p.field} is last`);
          if (p.kind === "array") {
            const first = parts.find((q) => q.kind === "struct");
            assert.ok(
              first && first.kind === "struct" && parts.indexOf(first) < i,
              `${where}: a struct before the array`,
            );
            assert.ok(
              structs.get(first.struct)!.fields.some((f) => f.name === p.count),
              `${where}: ${first.struct}.${p.count}`,
            );
          }
        });
      }
    });

    test("compat sizes are prefixes of their structs, and opcode limits name real opcodes", () => {
      const names = new Set(protocol.opcodes.map((o) => o.name));
      for (const c of protocol.compatSizes) {
        const s = structs.get(c.struct)!;
        assert.ok(c.size >= 0 && c.size < s.size, `${c.struct}: ${c.size} < ${s.size}`);
        assert.ok(
          c.minorBelow !== undefined || c.flagAbsent !== undefined,
          `${c.struct}: a minor or a flag`,
        );
        if (c.flagAbsent)
          assert.ok(
            schema.constants.some((k) => k.name === c.flagAbsent),
            `${c.flagAbsent} is a constant`,
          );
        for (const o of c.opcodes ?? []) assert.ok(names.has(o), `${c.struct}: opcode ${o}`);
        // A compat size ends at a field boundary (nested structs included): the prefix is whole fields.
        assert.ok(
          c.size === 0 || fieldEnds(c.struct).has(c.size),
          `${c.struct}: ${c.size} ends a field`,
        );
      }
    });

    test("the schema's protocol section is the table fitted to this header", () => {
      const r = resolveProtocol(loadProtocolTable(), schema);
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.protocol, protocol);
    });
  });
}

test("resolveProtocol reports an opcode or notification without an entry, and structs the header lacks", () => {
  const [, schema] = schemas[0]!;
  const table = loadProtocolTable();
  const enums = schema.enums.map((e) =>
    e.name === "fuse_opcode"
      ? {
          ...e,
          members: [
            ...e.members,
            { name: "FUSE_NEW_THING", value: "999", pos: { line: 1, column: 1 } },
          ],
        }
      : e.name === "fuse_notify_code"
        ? {
            ...e,
            members: [
              ...e.members,
              { name: "FUSE_NOTIFY_NEW", value: "99", pos: { line: 1, column: 1 } },
            ],
          }
        : e,
  );
  const r = resolveProtocol(table, { ...schema, enums });
  assert.equal(r.protocol, null);
  assert.ok(
    r.problems.some((p) => /FUSE_NEW_THING \(999\) has no entry/.test(p)),
    r.problems.join("\n"),
  );
  assert.ok(
    r.problems.some((p) => /FUSE_NOTIFY_NEW \(99\) has no entry/.test(p)),
    r.problems.join("\n"),
  );
  const r2 = resolveProtocol(table, {
    ...schema,
    structs: schema.structs.filter((s) => s.name !== "fuse_write_in"),
  });
  assert.ok(
    r2.problems.some((p) =>
      /FUSE_WRITE request: struct fuse_write_in is not in the header/.test(p),
    ),
    r2.problems.join("\n"),
  );
});

test("sizedBy: only on a variable reply, naming a member of a struct of the request", () => {
  const [, schema] = schemas[0]!;
  const table = loadProtocolTable();
  const read = schema.protocol!.opcodes.find((o) => o.name === "FUSE_READ")!;
  assert.deepEqual(read.reply.sizedBy, {
    struct: "fuse_read_in",
    field: "read_in",
    member: "size",
  });
  const readlink = schema.protocol!.opcodes.find((o) => o.name === "FUSE_READLINK")!;
  assert.equal(readlink.reply.sizedBy, undefined, "READLINK's bound is the kernel's page");
  const withEntry = (name: string, entry: unknown) =>
    resolveProtocol({ ...table, opcodes: { ...table.opcodes, [name]: entry as never } }, schema);
  const cases: [string, unknown, RegExp][] = [
    [
      "FUSE_GETATTR",
      {
        request: [{ struct: "fuse_getattr_in" }],
        reply: {
          kind: "parts",
          parts: [{ struct: "fuse_attr_out" }],
          sizedBy: { struct: "fuse_getattr_in", member: "fh" },
        },
      },
      /FUSE_GETATTR reply: sizedBy on a reply without a variable part/,
    ],
    [
      "FUSE_READ",
      {
        request: [{ struct: "fuse_read_in" }],
        reply: { kind: "data", what: "x", sizedBy: { struct: "fuse_write_in", member: "size" } },
      },
      /FUSE_READ reply: sizedBy names struct fuse_write_in, not a part of the request/,
    ],
    [
      "FUSE_READ",
      {
        request: [{ struct: "fuse_read_in" }],
        reply: { kind: "data", what: "x", sizedBy: { struct: "fuse_read_in", member: "nope" } },
      },
      /FUSE_READ reply: sizedBy names fuse_read_in\.nope, not a member/,
    ],
  ];
  for (const [name, entry, problem] of cases) {
    const r = withEntry(name, entry);
    assert.equal(r.protocol, null, String(problem));
    assert.ok(
      r.problems.some((p) => problem.test(p)),
      r.problems.join("\n"),
    );
  }
});
