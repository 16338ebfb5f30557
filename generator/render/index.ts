/**
 * Renders one schema into the files of `generated/<revision>/`: view models are
 * built here in TypeScript, templates only print them, oxfmt (format.ts) formats the
 * result with fixed options. Pure and deterministic: the same schema and tool
 * version give byte-identical files.
 */
import type { Schema } from "../model.js";
import { PRIMARY_TARGET } from "../model.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildCompound } from "./compound.js";
import { buildConstants } from "./constants.js";
import { banner } from "./doc.js";
import { buildEnums } from "./enums.js";
import { formatTs } from "./format.js";
import { buildLayout } from "./layout-table.js";
import { buildMessages } from "./messages.js";
import { ExportNames } from "./naming.js";
import { buildStructs } from "./structs.js";
import { sharedRuntimeSourceDir } from "./shared-runtime.js";
import { loadTemplate } from "./templates.js";

export { revisionName, banner } from "./doc.js";
export { writeGenerated } from "./write.js";

export interface RenderOptions {
  /** Version of fuse-uapi, printed in every file's banner. */
  toolVersion: string;
}

/**
 * Output modules in `index.ts` re-export order; `messages` only for a schema with a protocol
 * section, `compound` only for one that also has a compound section.
 */
const MODULES = [
  "runtime",
  "enums",
  "constants",
  "structs",
  "codecs",
  "layout",
  "messages",
  "compound",
] as const;

/** Names a template exports, so generated names can be checked against them. */
function exportedNames(templateText: string): string[] {
  return [
    ...templateText.matchAll(
      /^export (?:const|function|class|interface|type) ([A-Za-z_$][\w$]*)/gm,
    ),
  ].map((m) => m[1]!);
}

export async function renderRevision(
  schema: Schema,
  opts: RenderOptions,
): Promise<Map<string, string>> {
  const names = new ExportNames();
  // runtime.ts re-exports the shared runtime: its names are claimed from the shared source.
  for (const n of exportedNames(
    await readFile(join(sharedRuntimeSourceDir(), "runtime.ts"), "utf8"),
  ))
    names.claim(n, "runtime.ts");
  const layoutTemplate = await loadTemplate("layout.ts");
  for (const n of exportedNames(layoutTemplate.text)) names.claim(n, "layout.ts");

  // Claim order decides who wins a clash: C names (enums, constants) before our own.
  const enums = buildEnums(schema, names);
  const constants = buildConstants(schema, names);
  const structs = buildStructs(schema, names);
  const layout = buildLayout(schema, structs.structs);
  const messages = buildMessages(
    schema,
    structs.structs,
    names,
    (await loadTemplate("messages.ts")).text,
  );
  const compound = messages
    ? buildCompound(schema, structs.structs, names, (await loadTemplate("compound.ts")).text)
    : null;
  const modules = MODULES.filter(
    (m) => (m !== "messages" || messages !== null) && (m !== "compound" || compound !== null),
  );

  const common = {
    banner: banner(schema, opts.toolVersion),
    primary: PRIMARY_TARGET,
    sourceFile: schema.source.file,
  };
  const views: Partial<Record<(typeof MODULES)[number] | "index", object>> = {
    runtime: common,
    enums: { ...common, ...enums },
    constants: { ...common, ...constants },
    structs: { ...common, structs: structs.structs, enumImports: structs.enumImports },
    codecs: {
      ...common,
      structs: structs.structs,
      runtimeImports: structs.runtimeImports,
      runtimeTypeImports: structs.runtimeTypeImports,
    },
    layout: { ...common, ...layout },
    ...(messages ? { messages: { ...common, ...messages } } : {}),
    ...(compound ? { compound: { ...common, ...compound } } : {}),
    index: { ...common, modules },
  };
  const out = new Map<string, string>();
  for (const [module, view] of Object.entries(views)) {
    const file = `${module}.ts`;
    const { render } = await loadTemplate(file);
    out.set(file, await formatTs(render(view), file));
  }
  return out;
}
