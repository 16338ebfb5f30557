/**
 * Prettier with fixed options. `prettier.format` does not read config files, so
 * the output depends only on the input and the pinned prettier version.
 */
import * as prettier from "prettier";

export const PRETTIER_OPTIONS: prettier.Options = {
  parser: "typescript",
  printWidth: 100,
  tabWidth: 2,
  useTabs: false,
  semi: true,
  singleQuote: false,
  quoteProps: "as-needed",
  trailingComma: "all",
  bracketSpacing: true,
  arrowParens: "always",
  endOfLine: "lf",
};

export async function formatTs(source: string, fileName: string): Promise<string> {
  try {
    return await prettier.format(source, PRETTIER_OPTIONS);
  } catch (e) {
    // A syntax error here is a generator bug: say which file so it can be inspected.
    const err = new Error(`fuse-uapi: generated ${fileName} is not valid TypeScript: ${(e as Error).message}`);
    (err as Error & { source?: string }).source = source;
    throw err;
  }
}
