/**
 * The build step (generator/precompile.ts) compiles templates and JSON Schema
 * validators into dist/precompiled/; the tool uses an artifact only while it
 * was compiled from exactly the current source. These tests check that the
 * build produced fresh artifacts, that they behave like compiling the source,
 * and that a stale one is ignored rather than trusted.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sha256 } from "../generator/hash.js";
import {
  loadPrecompiled,
  TEMPLATES_MODULE,
  validatorModuleName,
} from "../generator/precompiled.js";
import {
  compileTemplate,
  type PrecompiledTemplates,
  templatesDir,
} from "../generator/render/templates.js";
import { repoRoot } from "../generator/revisions/registry.js";
import { jsonSchemaValidator } from "../generator/schema-file.js";

describe("precompiled artifacts", () => {
  test("the build compiled every template from its current text", () => {
    const pre = loadPrecompiled<PrecompiledTemplates>(TEMPLATES_MODULE);
    assert.ok(pre, "dist/precompiled/templates.cjs is missing: run `npm run build`");
    for (const file of readdirSync(templatesDir()).filter((f) => f.endsWith(".hbs"))) {
      const name = file.replace(/\.hbs$/, "");
      assert.equal(
        pre[name]?.sha256,
        sha256(readFileSync(join(templatesDir(), file), "utf8")),
        `${file} is stale or missing`,
      );
    }
  });

  test("the build compiled every JSON Schema from its current text", () => {
    const dir = join(repoRoot(), "schema");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".schema.json"))) {
      const pre = loadPrecompiled<{ sourceSha256?: string }>(validatorModuleName(file));
      assert.equal(
        pre?.sourceSha256,
        sha256(readFileSync(join(dir, file), "utf8")),
        `${file}: validator stale or missing`,
      );
    }
  });

  test("a precompiled template renders what compiling its text renders", async () => {
    const text = readFileSync(join(templatesDir(), "index.ts.hbs"), "utf8");
    const precompiled = await compileTemplate("index.ts", text);
    const view = {
      banner: "// b",
      primary: "x86_64",
      sourceFile: "fuse.h",
      modules: ["runtime", "enums"],
    };
    // Text that differs in one trailing byte cannot use the artifact: it is compiled from the text itself.
    const compiled = await compileTemplate("index.ts", `${text}\n`);
    assert.equal(compiled(view), `${precompiled(view)}\n`);
  });

  test("a stale artifact is ignored: the edited text is what renders", async () => {
    const render = await compileTemplate("index.ts", "edited {{json sourceFile}} {{sourceFile}}");
    assert.equal(render({ sourceFile: "fuse.h" }), 'edited "fuse.h" fuse.h');
    assert.throws(
      () => render({}),
      /sourceFile/,
      "strict: a missing field is an error, as with precompiled templates",
    );
  });

  test("the validator reports the first problem with its JSON path", () => {
    const problem = jsonSchemaValidator("protocol.schema.json");
    assert.match(problem({ not: "a protocol table" }) ?? "", /./);
  });
});
