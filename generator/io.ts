/**
 * File output that is never half-written: content goes to a temporary file
 * beside the target and is renamed over it, so a crash or an error leaves
 * either the old file or the new one, and no output at all when a run fails.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, basename } from "node:path";
import { InputError } from "./errors.js";

/** `content` may come in pieces (see jsonChunks): a big output is never one string in memory. */
export function writeFileAtomic(
  path: string,
  content: string | Uint8Array | Iterable<string>,
): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    if (typeof content === "string" || content instanceof Uint8Array) writeFileSync(tmp, content);
    else {
      const fd = openSync(tmp, "w");
      try {
        for (const piece of content) writeSync(fd, piece);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Read a text file, turning "no such file" into a message a user can act on. */
export function readText(path: string, what = "file"): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${path}: no such ${what}`);
    if (code === "EISDIR") throw new InputError(`${path}: is a directory, expected a ${what}`);
    throw new InputError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}

/** Reads and parses a JSON input file; not JSON is a one-line InputError naming the file. */
export function readJsonFile(path: string, what = "file"): unknown {
  const text = readText(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // One line: V8 quotes the text around the error, newlines included.
    throw new InputError(`${path}: not JSON: ${(e as Error).message.replace(/\s+/g, " ")}`);
  }
}

/** Stable JSON text: two-space indent and a final newline, as committed. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/**
 * jsonText(value) in pieces of about `size` characters, byte for byte the same
 * text: the JSON of a 50 MiB header's schema is over 200 MB, too much to hold
 * as one string and again as the bytes written. Objects and arrays of the top
 * two levels are opened here; everything below is stringified per value.
 */
export function* jsonChunks(value: unknown, size = 1 << 16): Generator<string> {
  let buf = "";
  for (const piece of jsonPieces(value, "", 0)) {
    buf += piece;
    if (buf.length >= size) {
      yield buf;
      buf = "";
    }
  }
  yield buf + "\n";
}

function* jsonPieces(value: unknown, indent: string, depth: number): Generator<string> {
  const plain = (v: unknown) =>
    typeof v === "object" && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== "function";
  if (depth >= 2 || !plain(value)) {
    const text = JSON.stringify(value, null, 2);
    yield text === undefined ? "null" : text.replace(/\n/g, `\n${indent}`);
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return yield "[]";
    yield "[";
    for (let i = 0; i < value.length; i++) {
      yield `${i === 0 ? "" : ","}\n${inner}`;
      const v: unknown = value[i];
      yield* jsonPieces(
        v === undefined || typeof v === "function" || typeof v === "symbol" ? null : v,
        inner,
        depth + 1,
      );
    }
    return yield `\n${indent}]`;
  }
  const entries = Object.entries(value as object).filter(
    ([, v]) => v !== undefined && typeof v !== "function" && typeof v !== "symbol",
  );
  if (entries.length === 0) return yield "{}";
  yield "{";
  for (let i = 0; i < entries.length; i++) {
    yield `${i === 0 ? "" : ","}\n${inner}${JSON.stringify(entries[i]![0])}: `;
    yield* jsonPieces(entries[i]![1], inner, depth + 1);
  }
  yield `\n${indent}}`;
}

/** Bytes of a file, or of stdin for `-`/no file: captured messages given to the CLI. */
export async function readBinaryInput(
  file: string | undefined,
  what = "message file",
): Promise<Uint8Array> {
  if (file === undefined || file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${file}: no such file`);
    if (code === "EISDIR") throw new InputError(`${file}: is a directory, expected a ${what}`);
    throw new InputError(`${file}: cannot read: ${(e as Error).message}`);
  }
}
