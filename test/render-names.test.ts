/**
 * C names that are hazardous in JavaScript: a struct member (or enumerator,
 * flag macro, struct tag) named `__proto__` is valid C, and `{ __proto__: x }`
 * in an object literal sets the prototype instead of a property, so the value
 * was silently dropped on decode and written as zero on encode. Such names are
 * emitted as computed keys; names that cannot be exported at all (reserved
 * words, globals the generated code uses) are refused with a clear error.
 *
 * The header is tiny and invented for this test; the generated code is
 * type-checked with the strict options and then run.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import ts from "typescript";
import { InputError } from "../generator/errors.js";
import { renderRevision } from "../generator/render/index.js";
import { buildSchema } from "../generator/schema-builder.js";
import { materialize } from "./helpers/materialize.js";
import { STRICT } from "./helpers/strict-tsc.js";

const HEADER = `#include <stdint.h>

enum odd_names {
\t__proto__ = 1,
\tconstructor = 2,
\ttoString = 3,
};

#define ODD___proto__ (1 << 0)
#define ODD_constructor (1 << 1)
#define ODD_valueOf (1 << 2)

struct inner {
\tuint32_t __proto__;
\tuint32_t hasOwnProperty;
};

struct __proto__ {
\tuint64_t __proto__;
\tuint32_t constructor;
\tuint32_t toString;
\tuint32_t valueOf;
\tuint32_t class;
\tuint32_t default;
\tuint32_t delete;
\tstruct inner nested;
\tstruct {
\t\tuint32_t __proto__;
\t\tuint32_t isPrototypeOf;
\t} anon_named;
\tunion {
\t\tuint32_t __proto__;
\t\tuint64_t propertyIsEnumerable;
\t} u;
\tuint8_t data[];
};
`;

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated module is imported untyped */
type Gen = Record<string, any>;

describe("hazardous C names in generated code", () => {
  let root: string;
  let dir: string;
  let g: Gen;
  let files: Map<string, string>;

  before(async () => {
    const schema = await buildSchema(HEADER, { file: "odd.h", revision: "odd" });
    files = await renderRevision(schema, { toolVersion: "test" });
    const out = await materialize({ odd: files }, "fuse-uapi-names-");
    root = out.root;
    dir = out.dirs["odd"]!;
    g = (await import(pathToFileURL(join(dir, "index.js")).href)) as Gen;
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("the generated code passes tsc --strict", () => {
    const program = ts.createProgram(
      [...files.keys()].map((f) => join(dir, f)),
      STRICT,
    );
    const diags = ts.getPreEmitDiagnostics(program);
    assert.equal(
      ts.formatDiagnostics(diags, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => dir,
        getNewLine: () => "\n",
      }),
      "",
    );
  });

  test("a member named __proto__ decodes to an own property and re-encodes to the same bytes", () => {
    const size: number = g.Proto.SIZE;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 37 + 11) & 0xff;
    const v = g.decodeProto(bytes);
    assert.ok(Object.hasOwn(v, "__proto__"), "own property __proto__");
    assert.equal(typeof v.__proto__, "bigint");
    assert.equal(v.__proto__, new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(Object.getPrototypeOf(v), Object.prototype, "the prototype is untouched");
    for (const k of ["constructor", "toString", "valueOf", "class", "default", "delete"])
      assert.equal(typeof v[k], "number", k);
    assert.ok(Object.hasOwn(v.nested, "__proto__"));
    assert.ok(Object.hasOwn(v.anon_named, "__proto__"));
    assert.ok(Object.hasOwn(v.u, "__proto__"));
    const out = new Uint8Array(size);
    g.encodeProto(v, out);
    // Padding is written as zero; compare the bytes the members cover.
    assert.deepEqual(g.decodeProto(out), v);
    assert.notEqual(v.__proto__, 0n);
    const w = { ...g.zeroProto() }; // a spread copies the own __proto__ property
    w.__proto__ = 0x1122334455667788n;
    const again = new Uint8Array(size);
    g.encodeProto(w, again);
    assert.equal(
      new DataView(again.buffer).getBigUint64(0, true),
      0x1122334455667788n,
      "a spread-built value writes __proto__",
    );
    assert.equal(Object.getPrototypeOf(w), Object.prototype);
  });

  test("a union member named like an inherited property is written only when set", () => {
    // u = { __proto__, propertyIsEnumerable }: inherited propertyIsEnumerable (a function) must not count as set.
    const v = { ...g.zeroProto(), u: { ["__proto__"]: 0xabcdef } };
    assert.equal(typeof v.u.propertyIsEnumerable, "function", "only the inherited one is there");
    const out = new Uint8Array(g.Proto.SIZE);
    g.encodeProto(v, out);
    assert.equal(g.decodeProto(out).u.__proto__, 0xabcdef);
    const z = g.zeroProto();
    assert.ok(
      Object.hasOwn(z.u, "propertyIsEnumerable") && z.u.propertyIsEnumerable === undefined,
      "zero names it as undefined",
    );
  });

  test("zero values, OFFSETS, STRUCT_LAYOUT, enums and flag tables keep the name as an own key", () => {
    const z = g.zeroProto();
    assert.ok(Object.hasOwn(z, "__proto__"));
    assert.equal(z.__proto__, 0n);
    assert.ok(Object.hasOwn(g.zeroInner(), "__proto__"));
    assert.ok(Object.hasOwn(g.Proto.OFFSETS, "__proto__"));
    assert.equal(g.Proto.OFFSETS.__proto__, 0);
    assert.ok(Object.hasOwn(g.Proto.OFFSETS, "data"), "flexible member offset");
    assert.ok(Object.hasOwn(g.STRUCT_LAYOUT, "__proto__"), "struct tag __proto__ in STRUCT_LAYOUT");
    assert.ok(Object.hasOwn(g.STRUCT_LAYOUT.__proto__.x86_64.offsets, "__proto__"));
    assert.equal(g.OddNames.__proto__, 1);
    assert.ok(Object.hasOwn(g.OddNames, "__proto__"));
    assert.equal(g.oddNamesName(1), "__proto__");
    const table = Object.values(g).find(
      (x) => x && typeof x === "object" && Object.hasOwn(x, "ODD___proto__"),
    );
    assert.ok(table, "a flag table holds ODD___proto__");
    assert.deepEqual(g.flagNames(7, table), ["ODD___proto__", "ODD_constructor", "ODD_valueOf"]);
  });
});

describe("names that cannot be exported are refused with a clear error", () => {
  const cases: [string, string, RegExp][] = [
    [
      "a macro named like a reserved word",
      "#define delete 1\n",
      /#define: delete cannot be exported/,
    ],
    [
      "a macro named like a strict-mode restricted name",
      "#define arguments 1\n",
      /#define: arguments cannot be exported/,
    ],
    [
      "a struct whose type name would shadow DataView",
      "#include <stdint.h>\nstruct data_view { uint32_t a; };\n",
      /struct data_view: DataView cannot be exported/,
    ],
  ];
  for (const [what, header, message] of cases) {
    test(what, async () => {
      const schema = await buildSchema(header, { file: "bad.h", revision: "bad" });
      await assert.rejects(
        renderRevision(schema, { toolVersion: "test" }),
        (e: unknown) => e instanceof InputError && message.test(e.message),
      );
    });
  }
});
