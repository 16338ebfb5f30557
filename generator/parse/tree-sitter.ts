/**
 * Loads tree-sitter and its C grammar as WebAssembly: no native addon, so a
 * fresh `npm ci` (which runs no install scripts) is all it needs.
 */
import { createRequire } from "node:module";
import { Language, Parser } from "web-tree-sitter";

let cached: Promise<Parser> | undefined;

export function cParser(): Promise<Parser> {
  cached ??= (async () => {
    const require = createRequire(import.meta.url);
    await Parser.init();
    const C = await Language.load(require.resolve("tree-sitter-c/tree-sitter-c.wasm"));
    const parser = new Parser();
    parser.setLanguage(C);
    return parser;
  })();
  return cached;
}
