/**
 * Known revisions of the FUSE header, rebuilt from the read-only corpus.
 *
 * `schema/known-revisions.json` is the single list of revisions: each names a base
 * header (pinned by sha256) and either the patch mails to apply to it or a full
 * rebuilt header. Everything here is driven by that data, so a new revision of a
 * series is one new JSON entry. The corpus itself is never copied into the
 * project; it is read where it lies (see corpusDir()).
 */

import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { applyMail, gitBlobSha1 } from "./mail.js";

export interface CorpusFileRef {
  /** Relative to the corpus directory. */
  path: string;
  sha256: string;
}

/** One entry of known-revisions.json (see schema/known-revisions.schema.json). */
export interface KnownRevision {
  name: string;
  title: string;
  description?: string;
  /** YYYY-MM-DD of the posting. */
  date: string;
  base: CorpusFileRef;
  /** Mail files relative to `<corpus>/compound/`, applied in order. */
  mails: string[];
  /** Full rebuilt header used instead of mails. */
  header?: CorpusFileRef;
  /** git blob hash (or prefix) the final text must have. */
  expectedBlob?: string;
}

/** A revision's header text, ready for the parser; fields feed SourceInfo. */
export interface RevisionHeader {
  name: string;
  /** Display name: basename of the base header, or of the full header for header-only revisions. */
  file: string;
  text: string;
  /** sha256 of the final text (UTF-8 bytes). */
  sha256: string;
  /** `git hash-object` of the final text. */
  gitBlob: string;
  /** Mails applied on top of `file`, in order, with the sha256 of each mail file. */
  patches: { file: string; sha256: string }[];
}

export type RevisionErrorCode = "registry" | "unknown-revision" | "corpus-missing" | "file-missing" | "checksum" | "blob";

/** Any failure to resolve a revision other than a patch not applying (that is PatchError). */
export class RevisionError extends Error {
  override name = "RevisionError";
  constructor(
    message: string,
    readonly code: RevisionErrorCode,
  ) {
    super(message);
  }
}

/** known-revisions.json (or the file given instead) is unreadable or malformed. */
export class RegistryError extends RevisionError {
  override name = "RegistryError";
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message, "registry");
  }
}

export class UnknownRevisionError extends RevisionError {
  override name = "UnknownRevisionError";
  constructor(
    readonly revision: string,
    readonly known: string[],
  ) {
    super(`unknown revision ${JSON.stringify(revision)}; known revisions: ${known.join(", ") || "(none)"}`, "unknown-revision");
  }
}

export class CorpusNotFoundError extends RevisionError {
  override name = "CorpusNotFoundError";
  constructor(readonly corpus: string) {
    super(
      `FUSE corpus not found at ${corpus} (no headers/ and compound/ folders there); ` +
        `set FUSE_UAPI_CORPUS to the corpus directory (default: ../shared/corpus next to the repository)`,
      "corpus-missing",
    );
  }
}

let cachedRoot: string | undefined;

/**
 * The repository root: the nearest folder above this module that has a
 * package.json. Walking up (instead of a fixed `../..`) keeps this right both
 * for generator/revisions/registry.ts and the compiled dist/generator/revisions/.
 */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return (cachedRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Where the corpus is: $FUSE_UAPI_CORPUS, else `<repo root>/../shared/corpus`. */
export function corpusDir(): string {
  const env = process.env.FUSE_UAPI_CORPUS;
  return env ? resolve(env) : resolve(repoRoot(), "..", "shared", "corpus");
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when `corpus` looks like a corpus: it has the headers/ and compound/ folders. */
export function corpusAvailable(corpus: string = corpusDir()): boolean {
  return isDir(join(corpus, "headers")) && isDir(join(corpus, "compound"));
}

export function defaultRegistryPath(): string {
  return join(repoRoot(), "schema", "known-revisions.json");
}

// ---- validation -------------------------------------------------------------
// Hand-written instead of a JSON Schema engine (none is a dependency); it checks
// what known-revisions.schema.json states, plus unique names.

const NAME_RE = /^[a-z0-9][a-z0-9.+_-]*$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const BLOB_RE = /^[0-9a-f]{7,40}$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Relative, forward slashes, and no `.`/`..` segments: it cannot leave its folder. */
function isSafeRelativePath(p: string): boolean {
  return p.length > 0 && !p.startsWith("/") && !p.includes("\\") && p.split("/").every((s) => s !== "." && s !== "..");
}

function isRealDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const REVISION_KEYS = new Set(["name", "title", "description", "date", "base", "mails", "header", "expectedBlob"]);

function checkFileRef(v: unknown, at: string, problems: string[]): void {
  if (!isObject(v)) {
    problems.push(`${at}: must be an object {path, sha256}`);
    return;
  }
  for (const k of Object.keys(v)) if (k !== "path" && k !== "sha256") problems.push(`${at}.${k}: unknown property`);
  if (typeof v.path !== "string" || !isSafeRelativePath(v.path)) {
    problems.push(`${at}.path: must be a path relative to the corpus directory (no leading /, no . or ..), got ${JSON.stringify(v.path)}`);
  }
  if (typeof v.sha256 !== "string" || !SHA256_RE.test(v.sha256)) {
    problems.push(`${at}.sha256: must be 64 lowercase hex digits, got ${JSON.stringify(v.sha256)}`);
  }
}

/** Validate parsed registry JSON; `source` names the file in messages. */
export function parseKnownRevisions(data: unknown, source: string): KnownRevision[] {
  const problems: string[] = [];
  if (!isObject(data) || !Array.isArray(data.revisions)) {
    throw new RegistryError(`${source}: expected an object with a "revisions" array`, [`(root): no revisions array`]);
  }
  for (const k of Object.keys(data)) {
    if (k !== "revisions" && k !== "$schema" && k !== "$comment") problems.push(`${k}: unknown property`);
  }
  const seen = new Set<string>();
  data.revisions.forEach((r: unknown, i: number) => {
    const at = `revisions[${i}]`;
    if (!isObject(r)) {
      problems.push(`${at}: must be an object`);
      return;
    }
    const label = typeof r.name === "string" ? `${at} (${r.name})` : at;
    for (const k of Object.keys(r)) if (!REVISION_KEYS.has(k)) problems.push(`${label}.${k}: unknown property`);
    if (typeof r.name !== "string" || !NAME_RE.test(r.name)) {
      problems.push(`${label}.name: must match ${NAME_RE}, got ${JSON.stringify(r.name)}`);
    } else if (seen.has(r.name)) {
      problems.push(`${label}.name: duplicate name`);
    } else {
      seen.add(r.name);
    }
    if (typeof r.title !== "string" || r.title === "") problems.push(`${label}.title: must be a non-empty string`);
    if (r.description !== undefined && typeof r.description !== "string") problems.push(`${label}.description: must be a string`);
    if (typeof r.date !== "string" || !isRealDate(r.date)) {
      problems.push(`${label}.date: must be a real YYYY-MM-DD date, got ${JSON.stringify(r.date)}`);
    }
    checkFileRef(r.base, `${label}.base`, problems);
    if (!Array.isArray(r.mails)) {
      problems.push(`${label}.mails: must be an array of mail file names (may be empty)`);
    } else {
      r.mails.forEach((m: unknown, j: number) => {
        if (typeof m !== "string" || !isSafeRelativePath(m)) {
          problems.push(`${label}.mails[${j}]: must be a path relative to compound/, got ${JSON.stringify(m)}`);
        }
      });
    }
    if (r.header !== undefined) {
      checkFileRef(r.header, `${label}.header`, problems);
      if (Array.isArray(r.mails) && r.mails.length > 0) {
        problems.push(`${label}: has both mails and a full header; a revision is built from one or the other`);
      }
    }
    if (r.expectedBlob !== undefined && (typeof r.expectedBlob !== "string" || !BLOB_RE.test(r.expectedBlob))) {
      problems.push(`${label}.expectedBlob: must be 7 to 40 lowercase hex digits, got ${JSON.stringify(r.expectedBlob)}`);
    }
  });
  if (problems.length > 0) {
    throw new RegistryError(`${source} is not a valid revision registry:\n  - ${problems.join("\n  - ")}`, problems);
  }
  return data.revisions as KnownRevision[];
}

/** Read and validate the registry (default: schema/known-revisions.json). */
export async function loadKnownRevisions(registryPath: string = defaultRegistryPath()): Promise<KnownRevision[]> {
  let raw: string;
  try {
    raw = await readFile(registryPath, "utf8");
  } catch (e) {
    throw new RegistryError(`cannot read revision registry ${registryPath}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    throw new RegistryError(`${registryPath} is not valid JSON: ${(e as Error).message}`);
  }
  return parseKnownRevisions(data, registryPath);
}

// ---- loading ------------------------------------------------------------------

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Read a corpus file as UTF-8 text, returning its bytes' sha256 too. */
async function readCorpusFile(corpus: string, rel: string): Promise<{ text: string; sha256: string }> {
  const full = join(corpus, rel);
  let bytes: Buffer;
  try {
    bytes = await readFile(full);
  } catch (e) {
    throw new RevisionError(`corpus file ${rel} is missing or unreadable under ${corpus}: ${(e as Error).message}`, "file-missing");
  }
  const text = bytes.toString("utf8");
  // Patching works on strings; a file that is not clean UTF-8 would not survive the round trip.
  if (!Buffer.from(text, "utf8").equals(bytes)) {
    throw new RevisionError(`corpus file ${rel} is not valid UTF-8`, "checksum");
  }
  return { text, sha256: sha256(bytes) };
}

function checkPinned(ref: CorpusFileRef, actual: string, registryPath: string): void {
  if (actual !== ref.sha256) {
    throw new RevisionError(
      `corpus file ${ref.path} has sha256 ${actual}, but ${basename(registryPath)} pins ${ref.sha256}`,
      "checksum",
    );
  }
}

/**
 * Rebuild a revision's header: check the pinned base, then either apply its
 * mails in order (each verified against its own `index` line by applyMail) or
 * read its full header, and finally check `expectedBlob`.
 * Throws UnknownRevisionError, CorpusNotFoundError, RevisionError, or PatchError
 * (from mail.ts) when a mail does not apply.
 */
export async function loadRevisionHeader(
  name: string,
  corpus: string = corpusDir(),
  registryPath: string = defaultRegistryPath(),
): Promise<RevisionHeader> {
  const revisions = await loadKnownRevisions(registryPath);
  const rev = revisions.find((r) => r.name === name);
  if (!rev) throw new UnknownRevisionError(name, revisions.map((r) => r.name));
  if (!corpusAvailable(corpus)) throw new CorpusNotFoundError(corpus);

  const base = await readCorpusFile(corpus, rev.base.path);
  checkPinned(rev.base, base.sha256, registryPath);

  let text = base.text;
  let file = basename(rev.base.path);
  const patches: { file: string; sha256: string }[] = [];
  if (rev.header) {
    const full = await readCorpusFile(corpus, rev.header.path);
    checkPinned(rev.header, full.sha256, registryPath);
    text = full.text;
    file = basename(rev.header.path);
  } else {
    for (const mail of rev.mails) {
      const m = await readCorpusFile(corpus, join("compound", mail));
      text = applyMail(text, m.text, mail);
      patches.push({ file: mail, sha256: m.sha256 });
    }
  }

  const gitBlob = gitBlobSha1(text);
  if (rev.expectedBlob && !gitBlob.startsWith(rev.expectedBlob)) {
    throw new RevisionError(
      `revision ${name}: result has git blob ${gitBlob}, but ${basename(registryPath)} expects ${rev.expectedBlob}`,
      "blob",
    );
  }
  return { name, file, text, sha256: sha256(Buffer.from(text, "utf8")), gitBlob, patches };
}
