/**
 * Formats generated TypeScript with oxfmt (the Oxc formatter: Prettier's style,
 * native code, no install script). It replaced prettier because formatting was
 * ~90 % of `generate`: prettier needs 2–3 s per revision, oxfmt ~0.1 s.
 *
 * Deterministic: `format` of the API reads no config file, every option is
 * fixed here, and the version is pinned exactly in package.json, so the output
 * depends only on the input. Embedded-language formatting is off: it would
 * call back into JavaScript (and a worker pool) for template literals that
 * generated code does not use that way.
 */
import { format, type FormatConfig } from "oxfmt";

export const FORMAT_OPTIONS: FormatConfig = {
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
  objectWrap: "preserve",
  embeddedLanguageFormatting: "off",
};

/** `fileName` names the file in errors; it ends in `.ts`, which tells oxfmt the language. */
export async function formatTs(source: string, fileName: string): Promise<string> {
  const result = await format(
    fileName.endsWith(".ts") ? fileName : `${fileName}.ts`,
    source,
    FORMAT_OPTIONS,
  );
  if (result.errors.length > 0) {
    // A syntax error here is a generator bug: say which file and where, so it can be inspected.
    const first = result.errors[0]!;
    const at = first.labels[0] ? ` at ${lineCol(source, first.labels[0].start)}` : "";
    const err = new Error(
      `fuse-uapi: generated ${fileName} is not valid TypeScript${at}: ${first.message}`,
    );
    (err as Error & { source?: string }).source = source;
    throw err;
  }
  return result.code;
}

/** 1-based line:column of a UTF-8 byte offset (oxc reports spans in bytes). */
function lineCol(source: string, byteOffset: number): string {
  const before = Buffer.from(source, "utf8").subarray(0, byteOffset).toString("utf8");
  const lines = before.split("\n");
  return `${lines.length}:${lines[lines.length - 1]!.length + 1}`;
}
