/**
 * `fuse-uapi diff <a> <b>`: the ABI changes between two schemas (files or
 * revision names), each classified breaking or compatible, and the changes of
 * the generated TypeScript API (exported symbols added, removed, retyped; see
 * ../diff/ts-api.ts): a revision name reads generated/<name>/, a schema file is
 * rendered in memory. `--no-ts` leaves the TypeScript part out (it loads both
 * revisions into the TypeScript checker: seconds, not milliseconds).
 *
 * The report is the output, so by default a successful diff exits 0 whatever
 * it finds; `--fail-on breaking` exits 1 when any change (ABI or TypeScript)
 * is breaking, `--fail-on compatible` when there is any change at all: the
 * gate for CI. Bad input (unknown revision, unreadable or invalid schema, bad
 * option) is an InputError → exit 2.
 *
 * `--all-consecutive` diffs every consecutive pair of known revisions; with
 * `-o docs/revisions.md` (Markdown, the default for it) that regenerates the
 * committed docs page. It is the C ABI history only: the TypeScript API of
 * every revision in one checker costs ~1 GB and tens of seconds, which the
 * docs check in CI should not pay; diff two revisions for their TypeScript part.
 */
import { relative } from "node:path";
import type { Change } from "../diff/change.js";
import { consecutiveDiffs, renderConsecutive } from "../diff/docs.js";
import { type Format, FORMATS, formatDiff } from "../diff/format.js";
import { diffSchemas } from "../diff/index.js";
import { resolveSchemaArg } from "../diff/resolve.js";
import type { TsApiChange } from "../diff/ts-api.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../io.js";

export const FAIL_ON = ["breaking", "compatible", "none"] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface DiffCommandOptions {
  format?: string;
  allConsecutive?: boolean;
  output?: string;
  /** commander's `--no-ts`: false leaves out the TypeScript API. */
  ts?: boolean;
  failOn?: string;
}

export interface DiffResult {
  text: string;
  /** Every change found (ABI and TypeScript), for `--fail-on`. */
  changes: (Change | TsApiChange)[];
}

function parseFormat(f: string | undefined, fallback: Format): Format {
  if (f === undefined) return fallback;
  if ((FORMATS as readonly string[]).includes(f)) return f as Format;
  throw new InputError(`unknown format '${f}' (known: ${FORMATS.join(", ")})`);
}

export function parseFailOn(f: string | undefined): FailOn {
  if (f === undefined) return "none";
  if ((FAIL_ON as readonly string[]).includes(f)) return f as FailOn;
  throw new InputError(`unknown --fail-on '${f}' (known: ${FAIL_ON.join(", ")})`);
}

/** Exit code for `--fail-on`: 1 when a change at or above the threshold exists. */
export function failOnExitCode(changes: readonly { severity: string }[], failOn: FailOn): number {
  if (failOn === "breaking") return changes.some((c) => c.severity === "breaking") ? 1 : 0;
  if (failOn === "compatible") return changes.length ? 1 : 0;
  return 0;
}

/** The report and the changes; the CLI prints or writes the text. */
export async function diffRun(args: string[], opts: DiffCommandOptions): Promise<DiffResult> {
  if (opts.allConsecutive) {
    if (args.length) throw new InputError("diff --all-consecutive takes no schema arguments");
    const format = parseFormat(opts.format, "md");
    const pairs = await consecutiveDiffs();
    return { text: renderConsecutive(pairs, format), changes: pairs.flatMap((p) => p.changes) };
  }
  const format = parseFormat(opts.format, "text");
  if (args.length !== 2)
    throw new InputError(
      `diff needs two schemas (files or revision names), got ${args.length}; or use --all-consecutive`,
    );
  const [a, b] = args.map(resolveSchemaArg);
  const abi = diffSchemas(a.schema, b.schema);
  let ts: TsApiChange[] | undefined;
  if (opts.ts !== false) {
    // Loaded on demand: ts-morph brings its own TypeScript, which no other command needs.
    const api = await import("../diff/ts-api.js");
    const [sa, sb] = await Promise.all([
      api.apiSourceForArg(args[0], a),
      api.apiSourceForArg(args[1], b),
    ]);
    ts = api.compareApis(sa, sb).changes;
  }
  return {
    text: formatDiff(abi, { from: a.label, to: b.label }, format, ts),
    changes: [...abi, ...(ts ?? [])],
  };
}

/** The report text alone. */
export async function diffReport(args: string[], opts: DiffCommandOptions): Promise<string> {
  return (await diffRun(args, opts)).text;
}

/** Prints or writes the report; returns the exit code `--fail-on` asks for. */
export async function diffCommand(args: string[], opts: DiffCommandOptions): Promise<number> {
  const failOn = parseFailOn(opts.failOn);
  const { text, changes } = await diffRun(args, opts);
  if (opts.output && opts.output !== "-") {
    writeFileAtomic(opts.output, text);
    process.stdout.write(`wrote ${relative(process.cwd(), opts.output)}\n`);
  } else process.stdout.write(text);
  return failOnExitCode(changes, failOn);
}
