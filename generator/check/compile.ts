/**
 * Runs the emitted `_Static_assert` file through a real compiler for the target
 * (`-fsyntax-only`: nothing is linked, so cross compilers need only their headers)
 * and maps the compiler's complaints back to schema facts.
 */

import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import type { Schema, Target } from "../model.js";
import { emitAssertions, TARGET_MACRO, type Fact, type SkippedFact } from "./emit-asserts.js";

export interface CheckOptions {
  target: Target;
  /**
   * Host C compiler in place of `cc` (a command; words split on spaces): used as is
   * for x86_64 and with `-m32` for i386. aarch64 always uses aarch64-linux-gnu-gcc.
   */
  cc?: string;
}

export interface FailedFact {
  fact: Fact;
  /** The compiler's diagnostic for it. */
  message: string;
}

export interface CheckResult {
  target: Target;
  proven: number;
  failed: FailedFact[];
  skipped: SkippedFact[];
  /** The compiler command used. */
  compiler: string;
}

/** The compiler could not judge the facts: missing, wrong target, or the header itself does not compile. */
export class CheckError extends Error {
  override readonly name = "CheckError";
  constructor(
    message: string,
    readonly target: Target,
    readonly compiler: string,
    /** The compiler's own output, verbatim. */
    readonly output: string,
  ) {
    super(message);
  }
}

/** Flags: GNU mode because old headers test `#ifndef linux`, which strict ISO mode leaves undefined. */
const CFLAGS = [
  "-fsyntax-only",
  "-std=gnu11",
  "-Wall",
  "-fno-diagnostics-show-caret",
  "-fdiagnostics-color=never",
];
const COMPILE_TIMEOUT_MS = 120_000;

/**
 * Candidate commands per target, best first. Debian's gcc-multilib (for `cc -m32`)
 * conflicts with its cross compilers, so i386 falls back to the i686 cross gcc.
 */
function candidates(target: Target, cc?: string): string[][] {
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  switch (target) {
    case "x86_64":
      return cc ? [words(cc)] : [["cc"], ["x86_64-linux-gnu-gcc"]];
    case "i386":
      return cc ? [[...words(cc), "-m32"]] : [["cc", "-m32"], ["i686-linux-gnu-gcc"]];
    case "aarch64":
      return [["aarch64-linux-gnu-gcc"]];
  }
}

interface RunOutput {
  code: number | null;
  output: string;
  /** Set when the command could not be started (e.g. ENOENT). */
  spawnError?: string;
}

function run(argv: string[], cwd: string): Promise<RunOutput> {
  return new Promise((resolve) => {
    // LC_ALL=C: the diagnostics we parse must be in English.
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: { ...process.env, LC_ALL: "C", LANG: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Our own timer, not spawn's `timeout`: that one stays armed for its full time when
    // the command does not exist (no 'exit' event), holding the process open.
    const timer = setTimeout(() => child.kill("SIGKILL"), COMPILE_TIMEOUT_MS);
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => chunks.push(b));
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, output: "", spawnError: err.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString("utf8");
      resolve({
        code: signal ? null : code,
        output: signal ? `${output}\nkilled by ${signal}` : output,
      });
    });
  });
}

const PROBE_SOURCE = (target: Target) =>
  [
    "#include <stddef.h>",
    "#include <stdint.h>",
    "#include <linux/ioctl.h>",
    "#include <linux/types.h>",
    `#ifndef ${TARGET_MACRO[target]}`,
    `#error "not ${target}"`,
    "#endif",
    "",
  ].join("\n");

interface Probe {
  argv: string[] | null;
  /** Why no candidate works (first candidate's failure). */
  reason: string;
}

const probes = new Map<string, Promise<Probe>>();

/** Finds the first candidate that compiles a trivial file for the target; cached per process. */
function probe(target: Target, cc?: string): Promise<Probe> {
  const key = `${target}\0${cc ?? ""}`;
  let p = probes.get(key);
  if (!p) {
    p = (async () => {
      const dir = await mkdtemp(join(tmpdir(), "fuse-uapi-probe-"));
      try {
        await writeFile(join(dir, "probe.c"), PROBE_SOURCE(target));
        let reason = "";
        for (const argv of candidates(target, cc)) {
          const r = await run([...argv, ...CFLAGS, "probe.c"], dir);
          if (r.code === 0) return { argv, reason: "" };
          reason ||= `${argv.join(" ")}: ${r.spawnError ?? r.output.trim()}`;
        }
        return { argv: null, reason };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    probes.set(key, p);
  }
  return p;
}

/** Whether a working compiler for `target` is installed (tests skip, with this reason, when not). */
export async function compilerAvailable(target: Target, cc?: string): Promise<boolean> {
  return (await probe(target, cc)).argv !== null;
}

/** The command `runCheck` would use, or null with the reason. */
export async function resolveCompiler(
  target: Target,
  cc?: string,
): Promise<{ argv: string[] | null; reason: string }> {
  return probe(target, cc);
}

interface Diagnostic {
  file: string;
  line: number;
  severity: string;
  text: string;
  /** Notes that followed it (macro expansion sites etc.). */
  notes: { file: string; line: number; text: string }[];
}

const DIAG_RE = /^(.*?):(\d+):(?:\d+:)? (fatal error|error|warning|note): (.*)$/;

/** Parses gcc's plain diagnostics (`file:line:col: error: text`), attaching notes to the diagnostic before them. */
export function parseDiagnostics(output: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const raw of output.split("\n")) {
    const m = DIAG_RE.exec(raw);
    if (!m) continue;
    const [, file, line, severity, text] = m;
    if (severity === "note") {
      out.at(-1)?.notes.push({ file, line: Number(line), text });
      continue;
    }
    out.push({ file, line: Number(line), severity, text, notes: [] });
  }
  return out;
}

/** Safe file name for the header copy, so diagnostics still name the original. */
function headerFileName(schema: Schema): string {
  const b = basename(schema.source.file || "").replace(/[^A-Za-z0-9._+-]/g, "_");
  return b.endsWith(".h") && b !== "check.h" ? b : "fuse.h";
}

/**
 * Proves `schema` against `headerText` (the header it was built from) on one target.
 * Failed assertions come back as `failed`; anything else the compiler rejects
 * throws `CheckError`.
 */
export async function runCheck(
  schema: Schema,
  headerText: string,
  opts: CheckOptions,
): Promise<CheckResult> {
  const { target } = opts;
  const found = await probe(target, opts.cc);
  const argv = found.argv ?? candidates(target, opts.cc)[0];
  const compiler = argv.join(" ");
  if (!found.argv) {
    throw new CheckError(
      `no working ${target} compiler (${found.reason})`,
      target,
      compiler,
      found.reason,
    );
  }

  const headerName = headerFileName(schema);
  const { source, facts, skipped, byLine } = emitAssertions(schema, target, headerName);
  const dir = await mkdtemp(join(tmpdir(), "fuse-uapi-check-"));
  try {
    await writeFile(join(dir, headerName), headerText);
    await writeFile(join(dir, "check.c"), source);
    const r = await run([...argv, ...CFLAGS, "check.c"], dir);
    if (r.spawnError) throw new CheckError(`${compiler}: ${r.spawnError}`, target, compiler, "");
    if (r.code === 0) return { target, proven: facts.length, failed: [], skipped, compiler };

    const failed = new Map<Fact, FailedFact>();
    const unexplained: string[] = [];
    for (const d of parseDiagnostics(r.output)) {
      if (d.severity === "warning") continue;
      // An error at an assertion's line, or in a macro expanded there, disproves that fact
      // (a wrong value, a missing member, a struct the compiler does not know...).
      const site = [d, ...d.notes].find((s) => s.file === "check.c" && byLine.has(s.line));
      const fact = site && byLine.get(site.line);
      if (fact) {
        if (!failed.has(fact)) failed.set(fact, { fact, message: d.text });
      } else {
        unexplained.push(`${d.file}:${d.line}: ${d.severity}: ${d.text}`);
      }
    }
    if (unexplained.length > 0 || failed.size === 0) {
      const first =
        unexplained.slice(0, 5).join("\n") || r.output.trim().split("\n").slice(0, 5).join("\n");
      throw new CheckError(
        `${compiler} rejected ${headerName} on ${target}:\n${first}`,
        target,
        compiler,
        r.output,
      );
    }
    const failures = [...failed.values()].sort((a, b) => a.fact.line - b.fact.line);
    return { target, proven: facts.length - failures.length, failed: failures, skipped, compiler };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
