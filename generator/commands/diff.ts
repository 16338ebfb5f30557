/**
 * `fuse-uapi diff <a> <b>`: the ABI changes between two schemas (files or
 * revision names), each classified breaking or compatible. The report is the
 * output, so a successful diff exits 0 whatever it finds; bad input
 * (unknown revision, unreadable or invalid schema, bad option) is an
 * InputError → exit 2.
 *
 * `--all-consecutive` diffs every consecutive pair of known revisions; with
 * `-o docs/revisions.md` (Markdown, the default for it) that regenerates the
 * committed docs page.
 */
import { relative } from "node:path";
import { consecutiveDiffs, renderConsecutive } from "../diff/docs.js";
import { type Format, FORMATS, formatDiff } from "../diff/format.js";
import { diffSchemas } from "../diff/index.js";
import { resolveSchemaArg } from "../diff/resolve.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../io.js";

export interface DiffCommandOptions {
  format?: string;
  allConsecutive?: boolean;
  output?: string;
}

function parseFormat(f: string | undefined, fallback: Format): Format {
  if (f === undefined) return fallback;
  if ((FORMATS as readonly string[]).includes(f)) return f as Format;
  throw new InputError(`unknown format '${f}' (known: ${FORMATS.join(", ")})`);
}

/** The report text; the CLI prints or writes it. */
export async function diffReport(args: string[], opts: DiffCommandOptions): Promise<string> {
  if (opts.allConsecutive) {
    if (args.length) throw new InputError("diff --all-consecutive takes no schema arguments");
    return renderConsecutive(await consecutiveDiffs(), parseFormat(opts.format, "md"));
  }
  const format = parseFormat(opts.format, "text");
  if (args.length !== 2) throw new InputError(`diff needs two schemas (files or revision names), got ${args.length}; or use --all-consecutive`);
  const [a, b] = args.map(resolveSchemaArg);
  return formatDiff(diffSchemas(a.schema, b.schema), { from: a.label, to: b.label }, format);
}

export async function diffCommand(args: string[], opts: DiffCommandOptions): Promise<void> {
  const text = await diffReport(args, opts);
  if (opts.output && opts.output !== "-") {
    writeFileAtomic(opts.output, text);
    process.stdout.write(`wrote ${relative(process.cwd(), opts.output)}\n`);
  } else process.stdout.write(text);
}
