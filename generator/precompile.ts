/**
 * Build step (`npm run build`, after tsc): compiles what `generate` would
 * otherwise compile on every run into `dist/precompiled/` (see precompiled.ts):
 * - each schema/*.schema.json into ajv standalone validator code;
 * - every templates/*.hbs into a Handlebars template spec.
 * Each artifact carries the sha256 of its source, so a later edit of the
 * source makes the tool ignore it (and compile the source itself) until the
 * next build. Writes nothing outside dist/.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import standalone from "ajv/dist/standalone/index.js";
import { sha256 } from "./hash.js";
import { precompiledDir, TEMPLATES_MODULE, validatorModuleName } from "./precompiled.js";
import { COMPILE_OPTIONS, templatesDir } from "./render/templates.js";
import { compileSchema, newAjv, schemaSources, siblingsSha256 } from "./schema-file.js";

const HEADER =
  "// Compiled by `npm run build` (generator/precompile.ts); used only while its sha256 matches the source.\n";

/** Writes via a temp file and rename, so a concurrent `generate` never loads half a module. */
function writeModule(dir: string, name: string, code: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, HEADER + code);
  renameSync(tmp, join(dir, name));
}

function precompileValidators(dir: string): string[] {
  const sources = schemaSources();
  for (const [file, text] of sources) {
    const ajv = newAjv({ source: true });
    const code = standalone.default(ajv, compileSchema(ajv, file, sources));
    const hashes =
      `module.exports.sourceSha256 = ${JSON.stringify(sha256(text))};\n` +
      `module.exports.siblingsSha256 = ${JSON.stringify(siblingsSha256(file, sources))};\n`;
    writeModule(dir, validatorModuleName(file), `${code}\n${hashes}`);
  }
  return [...sources.keys()];
}

function precompileTemplates(dir: string): string[] {
  const src = templatesDir();
  const names = readdirSync(src)
    .filter((f) => f.endsWith(".hbs"))
    .sort();
  const entries = names.map((file) => {
    const text = readFileSync(join(src, file), "utf8");
    const spec = Handlebars.precompile(text, COMPILE_OPTIONS) as unknown as string;
    return `  ${JSON.stringify(file.replace(/\.hbs$/, ""))}: { sha256: ${JSON.stringify(sha256(text))}, spec: ${spec} },\n`;
  });
  writeModule(dir, TEMPLATES_MODULE, `"use strict";\nmodule.exports = {\n${entries.join("")}};\n`);
  return names;
}

const dir = precompiledDir();
mkdirSync(dir, { recursive: true });
const validators = precompileValidators(dir);
const templates = precompileTemplates(dir);
process.stdout.write(
  `precompiled ${validators.length} validators and ${templates.length} templates into ${dir}\n`,
);
