/** The tool's version, recorded in generated banners (read from package.json once). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./revisions/registry.js";

export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string }
).version;
