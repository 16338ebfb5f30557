/**
 * Known revisions of the FUSE header, rebuilt from the read-only corpus.
 *
 * `schema/known-revisions.json` is the single list of revisions: each names a base
 * header (pinned by sha256) and either the patch mails to apply to it or a full
 * rebuilt header. Everything here is driven by that data, so a new revision of a
 * series is one new JSON entry. The corpus itself is never copied into the
 * project; it is read where it lies (see corpusDir()).
 */

import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gitBlobSha1, sha256 } from "../hash.js";
import { applyMail } from "./mail.js";

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
  /**
   * What the kernel of this revision does with FUSE_COMPOUND beyond what the
   * header states (framing, checks, limits, flags, fallback, callers), read
   * from the patch mails and reviews. Absent (or null) for revisions without
   * FUSE_COMPOUND. Field meanings: schema/known-revisions.schema.json#/$defs/compound;
   * prose per revision: docs/compound-revisions.md.
   */
  compound?: CompoundSemantics | null;
}

// ---- FUSE_COMPOUND semantics ---------------------------------------------------
// Every enumerated value is listed once here, for the validator and for consumers
// (builders, parsers, validators of compound messages); the JSON Schema repeats
// them and test/compound-semantics.test.ts checks that the two agree.

/** How the kernel fills fuse_in_header.unique of a sub-request. */
export const SUB_UNIQUE_RULES = ["fresh-unique", "zero", "op-index"] as const;
/** How the kernel fills uid/gid/pid of a sub-request: the caller's values (as in the compound's own header) or 0. */
export const SUB_CRED_RULES = ["copy-parent", "zero"] as const;
/** Where the number of sub-requests comes from. */
export const OP_COUNT_SOURCES = ["count-field", "sub-request-lengths"] as const;
/** What bounds the number of sub-requests. */
export const MAX_OPS_SOURCES = ["FUSE_MAX_COMPOUND_OPS", "caller-capacity"] as const;
/** A compound with no sub-request: refused before sending, or not checked. */
export const EMPTY_COMPOUND_RULES = ["kernel-rejects", "unchecked"] as const;
/** Sub-requests whose last out argument goes to pages: payload silently not copied, or not checked at all. */
export const OUT_PAGES_RULES = ["not-copied", "unchecked"] as const;
/** Which sub-replies the kernel walks. */
export const OPS_PARSED_RULES = ["server-count", "min-count", "until-end"] as const;
/** What stops the walk from indexing past the kernel's own list of sub-requests. */
export const OPS_BOUND_RULES = ["none", "kernel-count", "capacity"] as const;
/** How the kernel steps from one sub-reply to the next. */
export const ADVANCE_RULES = ["expected-out-args", "len"] as const;
/** When the kernel copies a sub-reply's payload into the caller's out arguments. */
export const COPY_WHEN_RULES = ["len-exceeds-header", "no-error"] as const;
/** Policy after a failing sub-request in the kernel's own sequential fallback. */
export const FALLBACK_ERROR_RULES = ["stop", "stop-unless-continue-flag", "continue"] as const;
/** What the server is expected to do when a sub-request fails. */
export const SERVER_ERROR_POLICIES = ["reply-to-every-op", "unspecified"] as const;
/** What makes the kernel split a compound into separate requests. */
export const FALLBACK_TRIGGERS = ["any-failure", "decline"] as const;
/** The errnos a server may decline a compound with (`any`: every error). */
export const DECLINE_ERRNOS = ["ENOSYS", "EOPNOTSUPP", "any"] as const;
/** What declining with an errno makes the kernel do. */
export const DECLINE_EFFECTS = ["caller-fallback", "split", "disable-and-split"] as const;
/** Roles of the members of fuse_compound_in / fuse_compound_out. */
export const OUTER_MEMBER_ROLES = ["count", "flags", "result-size", "reserved"] as const;
/** Roles of the members of a per-sub-request prefix struct. */
export const PREFIX_MEMBER_ROLES = ["dep-index", "op-flags", "reserved"] as const;
/** How a sub-request names the earlier one it depends on. */
export const DEPENDENCY_MODELS = ["none", "index", "flag-and-index"] as const;
/** What a dependent of a failed producer does. */
export const PRODUCER_FAILED_RULES = ["inherit-error", "run-anyway"] as const;
/** How a sub-reply's unique is used. */
export const SUB_REPLY_UNIQUE_RULES = ["ignored", "echo"] as const;

export type SubUniqueRule = (typeof SUB_UNIQUE_RULES)[number];
export type SubCredRule = (typeof SUB_CRED_RULES)[number];

/** A corpus mail (relative to compound/) and line range supporting facts of an entry. */
export interface CompoundSource {
  file: string;
  /** 1-based inclusive [first, last] line numbers in the raw mail file. */
  lines: [number, number];
  /** Dotted paths into the compound entry that this source supports, e.g. "subHeader.unique". */
  about: string[];
  /** The fact, in our own words. */
  fact: string;
}

/** One compound the kernel builds: sub-request opcodes in order and the compound flags it sets. */
export interface CompoundSequence {
  ops: string[];
  flags: string[];
  /** Kernel function that builds it and when. */
  caller: string;
  /** Corpus file (relative to compound/) that adds the caller. */
  source: string;
  /** Per op, the index of the earlier op it depends on, or null; absent when none depends on another. */
  dependsOn?: (number | null)[];
}

/** A struct of the compound framing and the role of each of its members. */
export interface FramingStruct<Role extends string> {
  /** C name without `struct`. */
  struct: string;
  /** Every member of the struct, with its role. */
  members: Record<string, Role>;
}

export type OuterMemberRole = (typeof OUTER_MEMBER_ROLES)[number];
export type PrefixMemberRole = (typeof PREFIX_MEMBER_ROLES)[number];

/** Flag constants of a header: the compound's (`flags`) or the per-op ones (`opFlags`). */
export interface FlagSet {
  defined: { name: string; value: number; meaning: string; setByKernel: boolean }[];
}

/** What a producer passes to a dependent sub-request. */
export interface DependencyThread {
  /** Opcodes whose result feeds a dependent. */
  producers: string[];
  /** Reply part (protocol table field name) and integer member of the producer's result. */
  from: { part: string; member: string };
  /** fuse_in_header member of the dependent that receives it. */
  into: "nodeid";
}

export interface CompoundDependencies {
  model: (typeof DEPENDENCY_MODELS)[number];
  /** For `index`: the dep-index value meaning "no dependency" and its header constant. */
  noDependency: { value: number; constant: string | null } | null;
  /** For `flag-and-index`: the per-op flag that makes the dep-index count. */
  flag: string | null;
  threads: DependencyThread[];
  producerFailed: (typeof PRODUCER_FAILED_RULES)[number] | null;
  /** Errno of a sub-request whose dep-index names itself or a later op. */
  invalidReference: "EINVAL" | null;
}

export interface CompoundDecline {
  errno: (typeof DECLINE_ERRNOS)[number];
  effect: (typeof DECLINE_EFFECTS)[number];
}

export interface CompoundSemantics {
  /** fuse_opcode member of the compound request. */
  opcode: string;
  /** The compound's own structs, the per-sub-request prefix, and the role of every member. */
  framing: {
    request: FramingStruct<OuterMemberRole>;
    reply: FramingStruct<OuterMemberRole>;
    subRequestPrefix: FramingStruct<PrefixMemberRole> | null;
    subReplyPrefix: FramingStruct<PrefixMemberRole> | null;
  };
  opCountFrom: (typeof OP_COUNT_SOURCES)[number];
  /** Most sub-requests per compound, or null when the protocol sets no number. */
  maxOps: number | null;
  maxOpsSource: (typeof MAX_OPS_SOURCES)[number];
  emptyCompound: (typeof EMPTY_COMPOUND_RULES)[number];
  /** nodeid of the compound's own fuse_in_header. */
  outerNodeid: number;
  /** How each fuse_in_header field of a sub-request is filled. */
  subHeader: {
    len: "header-plus-args";
    opcode: "per-op";
    unique: SubUniqueRule;
    nodeid: "per-op";
    uid: SubCredRule;
    gid: SubCredRule;
    pid: SubCredRule;
    total_extlen: "zero";
    padding: "zero";
  };
  /** How each fuse_out_header field of a sub-reply is used. */
  subReplyHeader: {
    len: "header-plus-args";
    error: "per-op";
    unique: (typeof SUB_REPLY_UNIQUE_RULES)[number];
  };
  /** Byte alignment between consecutive sub-requests / sub-replies (1 = packed back to back). */
  alignment: { subRequests: number; subReplies: number };
  /** Checks the kernel applies to the sub-requests it built, before sending. */
  subRequestChecks: {
    validatedBeforeSend: boolean;
    rejectOpcodeZero: boolean;
    rejectNestedCompound: boolean;
    rejectNodeidZero: boolean;
    rejectInPages: boolean;
    lengthsMustSumToPayload: boolean;
  };
  /** null: no allow-list; any opcode not rejected above may appear. */
  allowedOpcodes: string[] | null;
  outPages: (typeof OUT_PAGES_RULES)[number];
  /** How the `result-size` member is computed; null when the request has none. */
  resultSize: { rule: "sum-expected-out-args"; includesOutHeaders: boolean } | null;
  /** Checks the kernel applies to the reply. */
  replyChecks: {
    minOpLen: number;
    opLenInBounds: boolean;
    countMustMatch: boolean;
    uniqueMustMatch: boolean;
    opsParsed: (typeof OPS_PARSED_RULES)[number];
    opsBound: (typeof OPS_BOUND_RULES)[number];
    /** Fewest bytes of sub-replies (after fuse_compound_out) the kernel accepts. */
    minPayload: number;
    maxPayload: "expected-out-args-plus-out-headers";
    advance: (typeof ADVANCE_RULES)[number];
    copyWhen: (typeof COPY_WHEN_RULES)[number];
    copySize: "expected-out-args";
    readsReplyFlags: boolean;
    badReplyErrno: "EIO";
  };
  onOpError: {
    kernelParse: "record-and-continue";
    missingReplies: "treated-as-success";
    serverPolicy: (typeof SERVER_ERROR_POLICIES)[number];
    fallback: (typeof FALLBACK_ERROR_RULES)[number] | null;
  };
  /** The compound flags (the `flags` member of framing.request). */
  flags: FlagSet;
  /** The per-op flags (the `op-flags` member of the sub-request prefix). */
  opFlags: FlagSet;
  dependencies: CompoundDependencies;
  fallback: {
    kernelSplits: boolean;
    trigger: (typeof FALLBACK_TRIGGERS)[number] | null;
    suppressedBy: string | null;
    stopUnless: string | null;
    remembersUnsupported: boolean;
    negotiatedInInit: boolean;
    callerFallbackErrno: "ENOSYS" | null;
    callerFallback: "plain-open" | null;
  };
  /** How a server declines a compound, per errno; empty when it cannot. */
  decline: CompoundDecline[];
  kernelSequences: CompoundSequence[];
  /** Compounds built by related series on top of this revision's API (not part of the series). */
  relatedSequences: CompoundSequence[];
  /** Kernel bugs visible on the wire, so tests can expect them. */
  kernelDefects: { id: string; effect: string }[];
  sources: CompoundSource[];
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

export type RevisionErrorCode =
  | "registry"
  | "unknown-revision"
  | "corpus-missing"
  | "file-missing"
  | "checksum"
  | "blob";

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
    super(
      `unknown revision ${JSON.stringify(revision)}; known revisions: ${known.join(", ") || "(none)"}`,
      "unknown-revision",
    );
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
// Hand-written rather than a JSON Schema engine, for messages that name the exact
// field; it checks what known-revisions.schema.json states, plus unique names and
// the cross-field rules of compound entries (test/compound-semantics.test.ts keeps
// the two in step).

const NAME_RE = /^[a-z0-9][a-z0-9.+_-]{0,99}$/; // names a folder: a subset of generator/revision-name.ts
const SHA256_RE = /^[0-9a-f]{64}$/;
const BLOB_RE = /^[0-9a-f]{7,40}$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Relative, forward slashes, and no `.`/`..` segments: it cannot leave its folder. */
function isSafeRelativePath(p: string): boolean {
  return (
    p.length > 0 &&
    !p.startsWith("/") &&
    !p.includes("\\") &&
    p.split("/").every((s) => s !== "." && s !== "..")
  );
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

const REVISION_KEYS = new Set([
  "name",
  "title",
  "description",
  "date",
  "base",
  "mails",
  "header",
  "expectedBlob",
  "compound",
]);

function checkFileRef(v: unknown, at: string, problems: string[]): void {
  if (!isObject(v)) {
    problems.push(`${at}: must be an object {path, sha256}`);
    return;
  }
  for (const k of Object.keys(v))
    if (k !== "path" && k !== "sha256") problems.push(`${at}.${k}: unknown property`);
  if (typeof v.path !== "string" || !isSafeRelativePath(v.path)) {
    problems.push(
      `${at}.path: must be a path relative to the corpus directory (no leading /, no . or ..), got ${JSON.stringify(v.path)}`,
    );
  }
  if (typeof v.sha256 !== "string" || !SHA256_RE.test(v.sha256)) {
    problems.push(`${at}.sha256: must be 64 lowercase hex digits, got ${JSON.stringify(v.sha256)}`);
  }
}

// ---- compound entry validation ----
// A tiny declarative checker: each Check reports problems as "<path>: <what is wrong>".

type Check = (v: unknown, at: string, problems: string[]) => void;

const show = (v: unknown): string => (v === undefined ? "nothing" : JSON.stringify(v));

const isStr: Check = (v, at, p) => {
  if (typeof v !== "string" || v === "")
    p.push(`${at}: must be a non-empty string, got ${show(v)}`);
};
const isBool: Check = (v, at, p) => {
  if (typeof v !== "boolean") p.push(`${at}: must be true or false, got ${show(v)}`);
};
const isInt =
  (min: number): Check =>
  (v, at, p) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min)
      p.push(`${at}: must be an integer >= ${min}, got ${show(v)}`);
  };
const oneOf =
  (values: readonly (string | number)[]): Check =>
  (v, at, p) => {
    if (!values.includes(v as string | number))
      p.push(
        `${at}: must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${show(v)}`,
      );
  };
const orNull =
  (c: Check): Check =>
  (v, at, p) => {
    if (v !== null) c(v, at, p);
  };
const arrayOf =
  (c: Check, minItems = 0): Check =>
  (v, at, p) => {
    if (!Array.isArray(v)) return void p.push(`${at}: must be an array, got ${show(v)}`);
    if (v.length < minItems) p.push(`${at}: must have at least ${minItems} item(s)`);
    v.forEach((x, i) => c(x, `${at}[${i}]`, p));
  };
/** An object with exactly these keys (all required). */
const object =
  (shape: Record<string, Check>): Check =>
  (v, at, p) => {
    if (!isObject(v)) return void p.push(`${at}: must be an object, got ${show(v)}`);
    for (const k of Object.keys(v)) if (!(k in shape)) p.push(`${at}.${k}: unknown property`);
    for (const [k, c] of Object.entries(shape)) {
      if (!(k in v)) p.push(`${at}.${k}: missing`);
      else c(v[k], `${at}.${k}`, p);
    }
  };

const MAIL_NAME: Check = (v, at, p) => {
  if (typeof v !== "string" || !isSafeRelativePath(v))
    p.push(`${at}: must be a mail path relative to compound/, got ${show(v)}`);
};
const LINE_RANGE: Check = (v, at, p) => {
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((n) => Number.isInteger(n) && n >= 1) ||
    v[0] > v[1]
  ) {
    p.push(`${at}: must be [first, last] 1-based line numbers with first <= last, got ${show(v)}`);
  }
};
const OPCODE_NAME: Check = (v, at, p) => {
  if (typeof v !== "string" || !/^(FUSE|CUSE)_[A-Z0-9_]+$/.test(v))
    p.push(`${at}: must be an opcode name like "FUSE_OPEN", got ${show(v)}`);
};
const FLAG_NAME: Check = (v, at, p) => {
  if (typeof v !== "string" || !/^FUSE_COMPOUND_[A-Z0-9_]+$/.test(v))
    p.push(`${at}: must be a flag name like "FUSE_COMPOUND_ATOMIC", got ${show(v)}`);
};
const DEFECT_ID: Check = (v, at, p) => {
  if (typeof v !== "string" || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(v))
    p.push(`${at}: must be a kebab-case id, got ${show(v)}`);
};

const C_NAME: Check = (v, at, p) => {
  if (typeof v !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
    p.push(`${at}: must be a C identifier, got ${show(v)}`);
};
/** An object with these keys, each optional (absent keys are not reported). */
const optionalKeys =
  (shape: Record<string, Check>): Check =>
  (v, at, p) => {
    if (!isObject(v)) return void p.push(`${at}: must be an object, got ${show(v)}`);
    for (const k of Object.keys(v)) if (!(k in shape)) p.push(`${at}.${k}: unknown property`);
    for (const [k, c] of Object.entries(shape)) if (k in v) c(v[k], `${at}.${k}`, p);
  };
/** An object mapping C member names to one of `roles`. */
const rolesOf =
  (roles: readonly string[]): Check =>
  (v, at, p) => {
    if (!isObject(v) || Object.keys(v).length === 0)
      return void p.push(`${at}: must be an object of member roles, got ${show(v)}`);
    for (const [k, r] of Object.entries(v)) {
      C_NAME(k, `${at} key`, p);
      oneOf(roles)(r, `${at}.${k}`, p);
    }
  };
const framingStruct = (roles: readonly string[]): Check =>
  object({ struct: C_NAME, members: rolesOf(roles) });
const FLAG_SET = object({
  defined: arrayOf(
    object({ name: FLAG_NAME, value: isInt(1), meaning: isStr, setByKernel: isBool }),
  ),
});
const DEP_INDEXES: Check = (v, at, p) => {
  if (!Array.isArray(v) || !v.every((x) => x === null || (Number.isInteger(x) && x >= 0)))
    p.push(`${at}: must be an array of op indexes or null, got ${show(v)}`);
};
const SEQUENCE_SHAPE = object({
  ops: arrayOf(OPCODE_NAME, 1),
  flags: arrayOf(FLAG_NAME),
  caller: isStr,
  source: MAIL_NAME,
});
const SEQUENCE: Check = (v, at, p) => {
  if (isObject(v) && "dependsOn" in v) {
    const { dependsOn, ...rest } = v;
    SEQUENCE_SHAPE(rest, at, p);
    optionalKeys({ dependsOn: DEP_INDEXES })({ dependsOn }, at, p);
  } else {
    SEQUENCE_SHAPE(v, at, p);
  }
};

/** Every key of a compound entry and its check. */
const COMPOUND_FIELDS: Record<string, Check> = {
  opcode: OPCODE_NAME,
  framing: object({
    request: framingStruct(OUTER_MEMBER_ROLES),
    reply: framingStruct(OUTER_MEMBER_ROLES),
    subRequestPrefix: orNull(framingStruct(PREFIX_MEMBER_ROLES)),
    subReplyPrefix: orNull(framingStruct(PREFIX_MEMBER_ROLES)),
  }),
  opCountFrom: oneOf(OP_COUNT_SOURCES),
  maxOps: orNull(isInt(1)),
  maxOpsSource: oneOf(MAX_OPS_SOURCES),
  emptyCompound: oneOf(EMPTY_COMPOUND_RULES),
  outerNodeid: isInt(0),
  subHeader: object({
    len: oneOf(["header-plus-args"]),
    opcode: oneOf(["per-op"]),
    unique: oneOf(SUB_UNIQUE_RULES),
    nodeid: oneOf(["per-op"]),
    uid: oneOf(SUB_CRED_RULES),
    gid: oneOf(SUB_CRED_RULES),
    pid: oneOf(SUB_CRED_RULES),
    total_extlen: oneOf(["zero"]),
    padding: oneOf(["zero"]),
  }),
  subReplyHeader: object({
    len: oneOf(["header-plus-args"]),
    error: oneOf(["per-op"]),
    unique: oneOf(SUB_REPLY_UNIQUE_RULES),
  }),
  alignment: object({ subRequests: isInt(1), subReplies: isInt(1) }),
  subRequestChecks: object({
    validatedBeforeSend: isBool,
    rejectOpcodeZero: isBool,
    rejectNestedCompound: isBool,
    rejectNodeidZero: isBool,
    rejectInPages: isBool,
    lengthsMustSumToPayload: isBool,
  }),
  allowedOpcodes: orNull(arrayOf(OPCODE_NAME, 1)),
  outPages: oneOf(OUT_PAGES_RULES),
  resultSize: orNull(
    object({ rule: oneOf(["sum-expected-out-args"]), includesOutHeaders: isBool }),
  ),
  replyChecks: object({
    minOpLen: isInt(1),
    opLenInBounds: isBool,
    countMustMatch: isBool,
    uniqueMustMatch: isBool,
    opsParsed: oneOf(OPS_PARSED_RULES),
    opsBound: oneOf(OPS_BOUND_RULES),
    minPayload: isInt(0),
    maxPayload: oneOf(["expected-out-args-plus-out-headers"]),
    advance: oneOf(ADVANCE_RULES),
    copyWhen: oneOf(COPY_WHEN_RULES),
    copySize: oneOf(["expected-out-args"]),
    readsReplyFlags: isBool,
    badReplyErrno: oneOf(["EIO"]),
  }),
  onOpError: object({
    kernelParse: oneOf(["record-and-continue"]),
    missingReplies: oneOf(["treated-as-success"]),
    serverPolicy: oneOf(SERVER_ERROR_POLICIES),
    fallback: orNull(oneOf(FALLBACK_ERROR_RULES)),
  }),
  flags: FLAG_SET,
  opFlags: FLAG_SET,
  dependencies: object({
    model: oneOf(DEPENDENCY_MODELS),
    noDependency: orNull(object({ value: isInt(0), constant: orNull(C_NAME) })),
    flag: orNull(FLAG_NAME),
    threads: arrayOf(
      object({
        producers: arrayOf(OPCODE_NAME, 1),
        from: object({ part: C_NAME, member: C_NAME }),
        into: oneOf(["nodeid"]),
      }),
    ),
    producerFailed: orNull(oneOf(PRODUCER_FAILED_RULES)),
    invalidReference: orNull(oneOf(["EINVAL"])),
  }),
  fallback: object({
    kernelSplits: isBool,
    trigger: orNull(oneOf(FALLBACK_TRIGGERS)),
    suppressedBy: orNull(FLAG_NAME),
    stopUnless: orNull(FLAG_NAME),
    remembersUnsupported: isBool,
    negotiatedInInit: isBool,
    callerFallbackErrno: orNull(oneOf(["ENOSYS"])),
    callerFallback: orNull(oneOf(["plain-open"])),
  }),
  decline: arrayOf(object({ errno: oneOf(DECLINE_ERRNOS), effect: oneOf(DECLINE_EFFECTS) })),
  kernelSequences: arrayOf(SEQUENCE, 1),
  relatedSequences: arrayOf(SEQUENCE),
  kernelDefects: arrayOf(object({ id: DEFECT_ID, effect: isStr })),
  sources: arrayOf(
    object({ file: MAIL_NAME, lines: LINE_RANGE, about: arrayOf(isStr, 1), fact: isStr }),
    1,
  ),
};
const COMPOUND_SHAPE = object(COMPOUND_FIELDS);

/**
 * Resolve a dotted `about` path in a compound entry. Array items are addressed
 * by index or by their `id`/`name`; a sequence item also by its ops joined
 * with "+" (e.g. "kernelSequences.FUSE_OPEN+FUSE_GETATTR").
 */
export function resolveCompoundPath(entry: unknown, path: string): boolean {
  let cur: unknown = entry;
  for (const seg of path.split(".")) {
    if (Array.isArray(cur)) {
      cur = /^\d+$/.test(seg)
        ? cur[Number(seg)]
        : cur.find(
            (x) =>
              isObject(x) &&
              (x.id === seg || x.name === seg || (Array.isArray(x.ops) && x.ops.join("+") === seg)),
          );
    } else if (isObject(cur) && Object.hasOwn(cur, seg)) {
      cur = cur[seg];
    } else {
      return false;
    }
    if (cur === undefined) return false;
  }
  return true;
}

/** Shape (COMPOUND_SHAPE) plus the rules that tie fields together. */
function checkCompound(v: unknown, at: string, problems: string[]): void {
  const before = problems.length;
  COMPOUND_SHAPE(v, at, problems);
  if (problems.length > before || !isObject(v)) return; // cross-field rules assume the shape
  const c = v as unknown as CompoundSemantics;
  const bad = (path: string, msg: string) => problems.push(`${at}.${path}: ${msg}`);

  const roles = (f: FramingStruct<string> | null) => (f ? Object.values(f.members) : []);
  const reqRoles = roles(c.framing.request);
  const repRoles = roles(c.framing.reply);
  const prefixRoles = roles(c.framing.subRequestPrefix);
  for (const [path, list, unique] of [
    ["framing.request", reqRoles, ["count", "flags", "result-size"]],
    ["framing.reply", repRoles, ["count", "flags", "result-size"]],
    ["framing.subRequestPrefix", prefixRoles, ["dep-index", "op-flags"]],
    ["framing.subReplyPrefix", roles(c.framing.subReplyPrefix), ["dep-index", "op-flags"]],
  ] as const) {
    for (const r of unique)
      if (list.filter((x) => x === r).length > 1) bad(path, `has two members with role ${r}`);
  }
  if (roles(c.framing.subReplyPrefix).some((r) => r !== "reserved"))
    bad("framing.subReplyPrefix", "a sub-reply prefix can only hold reserved members");
  if (repRoles.includes("result-size")) bad("framing.reply", "the reply has no result-size member");
  const counted = reqRoles.includes("count");
  if (repRoles.includes("count") !== counted)
    bad("framing", "request and reply both have a count member, or neither has");
  if ((c.opCountFrom === "count-field") !== counted)
    bad(
      "opCountFrom",
      `"count-field" exactly when framing.request has a count member, got ${show(c.opCountFrom)}`,
    );
  if ((c.resultSize !== null) !== reqRoles.includes("result-size"))
    bad("resultSize", "is set exactly when framing.request has a result-size member");
  if (!reqRoles.includes("flags") && c.flags.defined.length > 0)
    bad("flags.defined", "compound flags need a flags member in framing.request");
  if (!prefixRoles.includes("op-flags") && c.opFlags.defined.length > 0)
    bad("opFlags.defined", "per-op flags need an op-flags member in framing.subRequestPrefix");
  const dep = c.dependencies;
  if (dep.model === "none") {
    if (prefixRoles.includes("dep-index"))
      bad("dependencies.model", `is "none" but framing.subRequestPrefix has a dep-index member`);
    if (
      dep.noDependency !== null ||
      dep.flag !== null ||
      dep.threads.length > 0 ||
      dep.producerFailed !== null ||
      dep.invalidReference !== null
    ) {
      bad(
        "dependencies",
        `noDependency, flag, producerFailed and invalidReference are null and threads empty when model is "none"`,
      );
    }
  } else {
    if (!prefixRoles.includes("dep-index"))
      bad(
        "dependencies.model",
        `${show(dep.model)} needs a dep-index member in framing.subRequestPrefix`,
      );
    if (dep.producerFailed === null || dep.invalidReference === null)
      bad(
        "dependencies",
        "producerFailed and invalidReference are required when ops may depend on each other",
      );
    if ((dep.model === "index") !== (dep.noDependency !== null))
      bad("dependencies.noDependency", `is set exactly when model is "index"`);
    if ((dep.model === "flag-and-index") !== (dep.flag !== null))
      bad("dependencies.flag", `names a per-op flag exactly when model is "flag-and-index"`);
    if (dep.flag !== null && !c.opFlags.defined.some((f) => f.name === dep.flag))
      bad("dependencies.flag", `names ${dep.flag}, which is not in opFlags.defined`);
  }
  const declined = new Set<string>();
  c.decline.forEach((d, i) => {
    if (declined.has(d.errno)) bad(`decline[${i}].errno`, `${d.errno} is listed twice`);
    declined.add(d.errno);
    if (d.effect === "caller-fallback" && c.fallback.callerFallback === null)
      bad(`decline[${i}].effect`, "caller-fallback needs fallback.callerFallback");
    if (d.effect !== "caller-fallback" && !c.fallback.kernelSplits)
      bad(`decline[${i}].effect`, `${d.effect} needs fallback.kernelSplits`);
    if (d.effect === "disable-and-split" && !c.fallback.remembersUnsupported)
      bad(`decline[${i}].effect`, "disable-and-split needs fallback.remembersUnsupported");
  });
  if (c.fallback.trigger === "decline" && !c.decline.some((d) => d.effect !== "caller-fallback"))
    bad("fallback.trigger", `"decline" needs a decline entry that splits`);
  c.kernelSequences.concat(c.relatedSequences).forEach((s, i) => {
    if (s.dependsOn === undefined) return;
    if (dep.model === "none")
      bad(
        `kernelSequences[${i}].dependsOn`,
        `ops cannot depend on each other when dependencies.model is "none"`,
      );
    if (s.dependsOn.length !== s.ops.length)
      bad(`kernelSequences[${i}].dependsOn`, "has one entry per op");
    s.dependsOn.forEach((d, j) => {
      if (d !== null && d >= j)
        bad(`kernelSequences[${i}].dependsOn[${j}]`, `must name an earlier op, got ${d}`);
    });
  });
  if ((c.maxOps !== null) !== (c.maxOpsSource === "FUSE_MAX_COMPOUND_OPS")) {
    bad(
      "maxOps",
      `a number exactly when maxOpsSource is "FUSE_MAX_COMPOUND_OPS", got ${show(c.maxOps)} with ${show(c.maxOpsSource)}`,
    );
  }
  if (!counted && c.replyChecks.opsParsed !== "until-end")
    bad(
      "replyChecks.opsParsed",
      `without a count the kernel can only walk "until-end", got ${show(c.replyChecks.opsParsed)}`,
    );
  if (c.replyChecks.uniqueMustMatch !== (c.subReplyHeader.unique === "echo"))
    bad("subReplyHeader.unique", `is "echo" exactly when replyChecks.uniqueMustMatch`);
  if (!c.subRequestChecks.validatedBeforeSend) {
    for (const k of [
      "rejectOpcodeZero",
      "rejectNestedCompound",
      "rejectNodeidZero",
      "lengthsMustSumToPayload",
    ] as const) {
      if (c.subRequestChecks[k])
        bad(`subRequestChecks.${k}`, "cannot be true when validatedBeforeSend is false");
    }
  }
  const f = c.fallback;
  if (
    !f.kernelSplits &&
    (f.trigger !== null ||
      f.suppressedBy !== null ||
      f.stopUnless !== null ||
      c.onOpError.fallback !== null)
  ) {
    bad(
      "fallback",
      "trigger, suppressedBy, stopUnless and onOpError.fallback must be null when kernelSplits is false",
    );
  }
  if (f.kernelSplits && (f.trigger === null || c.onOpError.fallback === null))
    bad("fallback", "trigger and onOpError.fallback are required when kernelSplits is true");
  if (f.kernelSplits && f.trigger === null)
    bad("fallback.trigger", "is required when kernelSplits is true");
  if ((f.stopUnless !== null) !== (c.onOpError.fallback === "stop-unless-continue-flag")) {
    bad(
      "fallback.stopUnless",
      `names a flag exactly when onOpError.fallback is "stop-unless-continue-flag"`,
    );
  }
  if ((f.callerFallbackErrno === null) !== (f.callerFallback === null))
    bad(
      "fallback.callerFallback",
      "callerFallback and callerFallbackErrno are both set or both null",
    );

  const flagNames = new Set<string>();
  for (const set of ["flags", "opFlags"] as const) {
    let bits = 0;
    c[set].defined.forEach((fl, i) => {
      if (flagNames.has(fl.name)) bad(`${set}.defined[${i}].name`, `duplicate flag ${fl.name}`);
      if (set === "flags") flagNames.add(fl.name);
      if ((fl.value & (fl.value - 1)) !== 0)
        bad(`${set}.defined[${i}].value`, `must be a single bit, got ${fl.value}`);
      else if (bits & fl.value) bad(`${set}.defined[${i}].value`, `bit ${fl.value} is used twice`);
      bits |= fl.value;
    });
  }
  const knownFlag = (name: string | null, path: string) => {
    if (name !== null && !flagNames.has(name))
      bad(path, `names ${name}, which is not in flags.defined`);
  };
  knownFlag(f.suppressedBy, "fallback.suppressedBy");
  knownFlag(f.stopUnless, "fallback.stopUnless");
  c.kernelSequences.forEach((s, i) =>
    s.flags.forEach((n, j) => knownFlag(n, `kernelSequences[${i}].flags[${j}]`)),
  );
  c.relatedSequences.forEach((s, i) =>
    s.flags.forEach((n, j) => knownFlag(n, `relatedSequences[${i}].flags[${j}]`)),
  );
  for (const fl of c.opFlags.defined)
    if (fl.setByKernel)
      bad(
        `opFlags.defined.${fl.name}.setByKernel`,
        "kernelSequences cannot say which ops carry a per-op flag; use false",
      );
  for (const fl of c.flags.defined) {
    const used = c.kernelSequences.some((s) => s.flags.includes(fl.name));
    if (fl.setByKernel !== used)
      bad(
        `flags.defined.${fl.name}.setByKernel`,
        `is ${fl.setByKernel} but ${used ? "a kernelSequences entry sets the flag" : "no kernelSequences entry sets the flag"}`,
      );
  }
  const ids = new Set<string>();
  c.kernelDefects.forEach((d, i) => {
    if (ids.has(d.id)) bad(`kernelDefects[${i}].id`, `duplicate id ${d.id}`);
    ids.add(d.id);
  });
  c.sources.forEach((s, i) =>
    s.about.forEach((path, j) => {
      if (!resolveCompoundPath(c, path))
        bad(`sources[${i}].about[${j}]`, `${show(path)} does not name a field of this entry`);
    }),
  );
  for (const key of Object.keys(COMPOUND_FIELDS)) {
    const value = (c as unknown as Record<string, unknown>)[key];
    if (key === "sources" || (Array.isArray(value) && value.length === 0)) continue; // an empty list claims nothing
    if (!c.sources.some((s) => s.about.some((p) => p === key || p.startsWith(`${key}.`))))
      bad(key, "no source supports it (add a sources[] entry whose about names it)");
  }
}

/** Validate parsed registry JSON; `source` names the file in messages. */
export function parseKnownRevisions(data: unknown, source: string): KnownRevision[] {
  const problems: string[] = [];
  if (!isObject(data) || !Array.isArray(data.revisions)) {
    throw new RegistryError(`${source}: expected an object with a "revisions" array`, [
      `(root): no revisions array`,
    ]);
  }
  for (const k of Object.keys(data)) {
    if (k !== "revisions" && k !== "$schema" && k !== "$comment")
      problems.push(`${k}: unknown property`);
  }
  const seen = new Set<string>();
  data.revisions.forEach((r: unknown, i: number) => {
    const at = `revisions[${i}]`;
    if (!isObject(r)) {
      problems.push(`${at}: must be an object`);
      return;
    }
    const label = typeof r.name === "string" ? `${at} (${r.name})` : at;
    for (const k of Object.keys(r))
      if (!REVISION_KEYS.has(k)) problems.push(`${label}.${k}: unknown property`);
    if (typeof r.name !== "string" || !NAME_RE.test(r.name)) {
      problems.push(`${label}.name: must match ${NAME_RE}, got ${JSON.stringify(r.name)}`);
    } else if (seen.has(r.name)) {
      problems.push(`${label}.name: duplicate name`);
    } else {
      seen.add(r.name);
    }
    if (typeof r.title !== "string" || r.title === "")
      problems.push(`${label}.title: must be a non-empty string`);
    if (r.description !== undefined && typeof r.description !== "string")
      problems.push(`${label}.description: must be a string`);
    if (typeof r.date !== "string" || !isRealDate(r.date)) {
      problems.push(`${label}.date: must be a real YYYY-MM-DD date, got ${JSON.stringify(r.date)}`);
    }
    checkFileRef(r.base, `${label}.base`, problems);
    if (!Array.isArray(r.mails)) {
      problems.push(`${label}.mails: must be an array of mail file names (may be empty)`);
    } else {
      r.mails.forEach((m: unknown, j: number) => {
        if (typeof m !== "string" || !isSafeRelativePath(m)) {
          problems.push(
            `${label}.mails[${j}]: must be a path relative to compound/, got ${JSON.stringify(m)}`,
          );
        }
      });
    }
    if (r.header !== undefined) {
      checkFileRef(r.header, `${label}.header`, problems);
      if (Array.isArray(r.mails) && r.mails.length > 0) {
        problems.push(
          `${label}: has both mails and a full header; a revision is built from one or the other`,
        );
      }
    }
    if (
      r.expectedBlob !== undefined &&
      (typeof r.expectedBlob !== "string" || !BLOB_RE.test(r.expectedBlob))
    ) {
      problems.push(
        `${label}.expectedBlob: must be 7 to 40 lowercase hex digits, got ${JSON.stringify(r.expectedBlob)}`,
      );
    }
    if (r.compound !== undefined && r.compound !== null)
      checkCompound(r.compound, `${label}.compound`, problems);
  });
  if (problems.length > 0) {
    throw new RegistryError(
      `${source} is not a valid revision registry:\n  - ${problems.join("\n  - ")}`,
      problems,
    );
  }
  return data.revisions as KnownRevision[];
}

/** Read and validate the registry (default: schema/known-revisions.json). */
export async function loadKnownRevisions(
  registryPath: string = defaultRegistryPath(),
): Promise<KnownRevision[]> {
  let raw: string;
  try {
    raw = await readFile(registryPath, "utf8");
  } catch (e) {
    throw new RegistryError(
      `cannot read revision registry ${registryPath}: ${(e as Error).message}`,
    );
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

/** Read a corpus file as UTF-8 text, returning its bytes' sha256 too. */
async function readCorpusFile(
  corpus: string,
  rel: string,
): Promise<{ text: string; sha256: string }> {
  const full = join(corpus, rel);
  let bytes: Buffer;
  try {
    bytes = await readFile(full);
  } catch (e) {
    throw new RevisionError(
      `corpus file ${rel} is missing or unreadable under ${corpus}: ${(e as Error).message}`,
      "file-missing",
    );
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
  if (!rev)
    throw new UnknownRevisionError(
      name,
      revisions.map((r) => r.name),
    );
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
  return { name, file, text, sha256: sha256(text), gitBlob, patches };
}
