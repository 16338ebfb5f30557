/**
 * Loads tree-sitter and its C grammar as WebAssembly: no native addon, so a
 * fresh `npm ci` (which runs no install scripts) is all it needs.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Language, Parser } from "web-tree-sitter";

/**
 * The C grammar's wasm: `grammar/tree-sitter-c.wasm` of the installed @fuse-uapi/generator
 * package (which ships only the wasm, so it needs neither tree-sitter-c's sources nor its native
 * install script), else the tree-sitter-c dependency of a repository checkout.
 */
function cGrammarPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const bundled = join(dir, "grammar", "tree-sitter-c.wasm");
    if (existsSync(bundled)) return bundled;
    const up = dirname(dir);
    if (up === dir)
      return createRequire(import.meta.url).resolve("tree-sitter-c/tree-sitter-c.wasm");
    dir = up;
  }
}

let cached: Promise<Parser> | undefined;

export function cParser(): Promise<Parser> {
  cached ??= (async () => {
    await Parser.init();
    const C = await Language.load(cGrammarPath());
    const parser = new Parser();
    parser.setLanguage(C);
    return parser;
  })();
  return cached;
}
