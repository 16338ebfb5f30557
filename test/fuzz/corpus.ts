/**
 * The kept corpus: minimised counterexamples in test/fixtures/fuzz-corpus/*.json, each with the
 * target, config word and bytes (hex), the outcome it had and why. `npm test` replays every
 * one: each must now be accepted (and re-encode) or be refused with a typed error.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FuzzCase } from "./engine.js";
import { ROOT } from "./revisions.js";

export const CORPUS_DIR = join(ROOT, "test", "fixtures", "fuzz-corpus");
/** Where a long run writes what it finds (git-ignored): triaged findings move to CORPUS_DIR. */
export const FINDINGS_DIR = join(ROOT, "test", "fuzz", "findings");

export interface CorpusEntry {
  readonly target: string;
  readonly config: number;
  readonly hex: string;
  /** The outcome it had when found. */
  readonly found: string;
  /** What was wrong, and the rule that fixed it. */
  readonly why: string;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function loadCorpus(
  dir = CORPUS_DIR,
): { file: string; entry: CorpusEntry; case: FuzzCase }[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort();
  } catch {
    return [];
  }
  return files.map((file) => {
    const entry = JSON.parse(readFileSync(join(dir, file), "utf8")) as CorpusEntry;
    return {
      file,
      entry,
      case: {
        target: entry.target,
        config: entry.config >>> 0,
        bytes: new Uint8Array(Buffer.from(entry.hex, "hex")),
      },
    };
  });
}

/** Writes a counterexample (file name from the target and a hash of the bytes: re-finding it overwrites). */
export function keep(c: FuzzCase, found: string, why: string, dir = CORPUS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const hex = toHex(c.bytes);
  let h = 0x811c9dc5;
  for (const ch of `${c.config}:${hex}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  const file = `${c.target.replace(/\//g, "--")}-${(h >>> 0).toString(16).padStart(8, "0")}.json`;
  const entry: CorpusEntry = {
    target: c.target,
    config: c.config,
    hex,
    found,
    why,
  };
  writeFileSync(join(dir, file), `${JSON.stringify(entry, null, 2)}\n`);
  return file;
}
