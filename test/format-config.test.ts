/**
 * One formatter, one style: the options `generate` formats generated code with
 * (generator/render/format.ts) are the ones `npm run format` applies to the code we
 * write (.oxfmtrc.json), so the two never drift apart.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FORMAT_OPTIONS } from "../generator/render/format.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

test(".oxfmtrc.json holds exactly the generator's format options", () => {
  const rc = JSON.parse(readFileSync(join(ROOT, ".oxfmtrc.json"), "utf8")) as unknown;
  assert.deepEqual(rc, { ...FORMAT_OPTIONS });
});
