/**
 * Headers the parser must refuse, each with a HeaderError whose `file:line:col`
 * points at the offending spot (1-based line and column, tabs count as one
 * column), so an editor or a CI log can jump straight to it.
 *
 * Inputs are tiny invented headers, written inline.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HeaderError } from "../generator/errors.js";
import { buildSchema } from "../generator/schema-builder.js";

const FILE = "demo_bad.h";

/** Build `text` and expect a HeaderError at exactly `line`:`column` whose detail matches `detail`. */
async function rejectsAt(
  text: string,
  line: number,
  column: number,
  detail: RegExp,
): Promise<HeaderError> {
  let caught: unknown;
  try {
    await buildSchema(text, { file: FILE });
  } catch (e) {
    caught = e;
  }
  assert.ok(
    caught instanceof HeaderError,
    `expected a HeaderError, got ${caught === undefined ? "success" : String(caught)}`,
  );
  assert.equal(caught.file, FILE);
  assert.deepEqual({ line: caught.line, column: caught.column }, { line, column }, caught.message);
  assert.match(caught.detail, detail);
  assert.equal(caught.message, `${FILE}:${line}:${column}: ${caught.detail}`);
  return caught;
}

describe("syntax errors", () => {
  test("a missing ';' is reported where it belongs", async () => {
    const text = [
      "#include <linux/types.h>", //
      "",
      "struct demo_bad {",
      "\t__u32\ta", // line 4: the ';' belongs after `a`, column 9
      "\t__u32\tb;",
      "};",
      "",
    ].join("\n");
    await rejectsAt(text, 4, 9, /syntax error: missing ';'/);
  });

  test("a missing ']' in an array declarator", async () => {
    const text = ["struct demo_bad {", "\tunsigned int\ta;", "\tunsigned int\tb[4;", "};", ""].join(
      "\n",
    );
    // `\tunsigned int\tb[4` is 17 columns long: the ']' belongs at column 18.
    await rejectsAt(text, 3, 18, /syntax error: missing '\]'/);
  });

  test("a stray '}' is reported at the brace, not at the start of the struct", async () => {
    // gcc, for both: "4:3: error: expected identifier or '(' before '}' token".
    // Without the ';' tree-sitter wraps the whole (valid) struct and the brace in
    // one ERROR node; the position must still be the brace's.
    for (const end of ["} };", "} }"]) {
      const text = ["#define DEMO_OK 1", "struct demo_bad {", "\tunsigned int a;", end, ""].join(
        "\n",
      );
      await rejectsAt(text, 4, 3, /syntax error/);
    }
  });
});

describe("types the layout engine cannot place", () => {
  test("an unknown field type names the type", async () => {
    const text = [
      "#include <linux/types.h>",
      "",
      "struct demo_t {",
      "\t__u32\t\tok;",
      "\tdemo_mystery_t\tbad;", // line 5, the type starts at column 2
      "};",
      "",
    ].join("\n");
    await rejectsAt(text, 5, 2, /unknown type 'demo_mystery_t'/);
  });

  test("a struct used before its definition is incomplete", async () => {
    const text = [
      "struct demo_t {",
      "\tunsigned int ok;",
      "\tstruct demo_later inner;",
      "};",
      "struct demo_later { unsigned int x; };",
      "",
    ].join("\n");
    await rejectsAt(text, 3, 2, /incomplete type 'struct demo_later'/);
  });

  test("a bit-field is refused at its ':' clause", async () => {
    const text = [
      "#include <linux/types.h>",
      "struct demo_bits {",
      "\t__u32\tflags;",
      "\t__u32\tmode : 4;", // `\t__u32\tmode ` is 12 columns: ':' at column 13
      "};",
      "",
    ].join("\n");
    await rejectsAt(text, 4, 13, /bit-fields are not supported/);
  });

  test("the first of several bit-fields in one declaration is the one reported", async () => {
    const text = [
      "struct demo_bits {",
      "\tunsigned int\tlow : 3,",
      "\t\t\thigh : 29;",
      "};",
      "",
    ].join("\n");
    // `\tunsigned int\tlow ` is 18 columns.
    await rejectsAt(text, 2, 19, /bit-fields are not supported/);
  });

  test("an array size that is not a constant names the macro", async () => {
    const text = [
      "#include <linux/types.h>",
      "",
      "struct demo_arr {",
      "\t__u32\tcount;",
      "\tchar\tname[DEMO_NAME_MAX];", // the size starts at column 12
      "};",
      "",
    ].join("\n");
    await rejectsAt(text, 5, 12, /array size 'DEMO_NAME_MAX' is not a constant/);
  });

  test("an array size that needs PAGE_SIZE is reported where the array is", async () => {
    const text = [
      "#define DEMO_LEN\t(4 * PAGE_SIZE)",
      "struct demo_arr {",
      "\tunsigned int\tcount;",
      "\tchar\t\tbuf[DEMO_LEN];",
      "};",
      "",
    ].join("\n");
    const e = await rejectsAt(text, 4, 12, /array size 'DEMO_LEN' is not a constant/);
    assert.match(e.detail, /PAGE_SIZE/);
  });
});

describe("#error", () => {
  test("an #error in the taken branch stops the build at the directive", async () => {
    const text = [
      "#ifdef __KERNEL__",
      '#error "never: __KERNEL__ is not defined in userspace"',
      "#endif",
      "#ifndef DEMO_CONFIG",
      '  #error "DEMO_CONFIG must be set"', // indented: the '#' is at column 3
      "#endif",
      "",
    ].join("\n");
    await rejectsAt(text, 5, 3, /#error "DEMO_CONFIG must be set"/);
  });

  test("#error in branches that are not taken is ignored", async () => {
    const text = [
      "#if 0",
      '#error "if 0"',
      "#elif 1",
      "#define DEMO_TAKEN 1",
      "#else",
      '#error "else after a taken #elif"',
      "#endif",
      "#ifdef __KERNEL__",
      "#error kernel",
      "#endif",
      "",
    ].join("\n");
    const schema = await buildSchema(text, { file: FILE });
    assert.deepEqual(
      schema.constants.map((c) => c.name),
      ["DEMO_TAKEN"],
    );
  });

  test("'# error' with blanks after the '#' is an #error too", async () => {
    // gcc: "2:3: error: #error linux". Blanks between '#' and the directive name are
    // valid C and common in indented kernel headers (`# define`, `# error`).
    const text = ["#ifdef __linux__", "# error linux", "#endif", ""].join("\n");
    await rejectsAt(text, 2, 1, /#error linux/);
  });
});

describe("#if conditions", () => {
  test("an unparsable #if condition is a syntax error on its line", async () => {
    const text = ["#define DEMO_A 1", "#if DEMO_A +", "#endif", ""].join("\n");
    await rejectsAt(text, 2, 1, /syntax error/);
  });
});
