/**
 * Patch mails -> patched header text, in memory.
 *
 * A revision of a kernel series is "base header + the uapi hunks of its patch
 * mail". Mails carry diffs for many files (fs/fuse/*.c, fuse_i.h, ...); only the
 * diff for include/uapi/linux/fuse.h matters here, so it is cut out of the mail
 * first and applied on its own with jsdiff, without fuzz: a hunk either fits
 * exactly (possibly at an offset, like `git apply`) or the revision is wrong.
 * The result is then checked against the git blob hash the mail's `index` line
 * names, so "applied cleanly" also means "is byte for byte what the author had".
 */

import { gitBlobSha1 } from "../hash.js";
import { applyPatch, parsePatch, type StructuredPatch } from "diff";

/** The file whose hunks we take from a mail (as named in `diff --git a/... b/...`). */
export const UAPI_PATH = "include/uapi/linux/fuse.h";

export type PatchErrorReason =
  /** The mail has no usable diff for the uapi header. */
  | "no-diff"
  /** The mail is transfer-encoded (base64, quoted-printable): we only read plain mails. */
  | "encoding"
  /** The extracted diff is malformed (bad hunk counts, several diffs for the file). */
  | "parse"
  /** A hunk's context or removed lines do not match the base text. */
  | "hunk"
  /** Applied, but the result's git blob differs from the mail's `index` post-image. */
  | "blob";

/** Failure to get a header out of base + mail; the message says which mail, hunk and line. */
export class PatchError extends Error {
  override name = "PatchError";
  constructor(
    message: string,
    readonly reason: PatchErrorReason,
    /** Mail file name as given by the caller (for messages). */
    readonly mailFile: string,
    /** `@@ -a,b +c,d @@` of the hunk that did not fit, when the reason is `hunk`. */
    readonly hunk: string | null = null,
    /** 1-based line of the base text where the hunk stopped matching. */
    readonly baseLine: number | null = null,
  ) {
    super(message);
  }
}

/** The uapi part of one mail. */
export interface MailDiff {
  mailFile: string;
  /** The extracted unified diff (git headers, ---/+++ and hunks), newline-terminated. */
  diff: string;
  /** Hunk headers (`@@ -664,6 +664,13 @@`) in order, without the trailing function context. */
  hunks: string[];
  /** Blob hashes (possibly abbreviated) from the `index` line, null if the diff has none. */
  preImage: string | null;
  postImage: string | null;
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const INDEX_RE = /^index ([0-9a-f]{7,64})\.\.([0-9a-f]{7,64})(?: [0-7]{6})?$/;

/**
 * The mail's top-level Content-Transfer-Encoding, or null. Patch mails from
 * `git send-email` are 7bit/8bit; anything else would need decoding first and
 * silently applying encoded text (`=3D` for `=`) would only fail later, obscurely.
 */
function transferEncoding(lines: string[]): string | null {
  for (let i = 0; i < lines.length && lines[i] !== ""; i++) {
    const m = /^content-transfer-encoding:\s*(.*)$/i.exec(lines[i]);
    if (m) return m[1].trim().toLowerCase();
  }
  return null;
}

/**
 * Cut the diff for `path` out of a raw mail. Hunk bodies are consumed by their
 * line counts, so a removed line that happens to read `-- ` is not mistaken for
 * the signature, and the blank line format-patch leaves before `-- ` is not
 * taken for context.
 */
export function extractUapiDiff(
  mailText: string,
  mailFile: string,
  path: string = UAPI_PATH,
): MailDiff {
  // Archives may store CRLF; the headers we patch use LF.
  const lines = mailText.replace(/\r\n/g, "\n").split("\n");
  const cte = transferEncoding(lines);
  if (cte !== null && !["7bit", "8bit", "binary"].includes(cte)) {
    throw new PatchError(
      `${mailFile}: mail is ${cte}-encoded; only plain (7bit/8bit) patch mails can be applied`,
      "encoding",
      mailFile,
    );
  }

  const target = `diff --git a/${path} b/${path}`;
  const sections: { lines: string[]; hunks: string[] }[] = [];
  let current: { lines: string[]; hunks: string[] } | null = null;
  // Lines still expected in the current hunk body, old and new side.
  let oldLeft = 0;
  let newLeft = 0;
  // Inside some file's diff (from `diff --git` to the line after its last hunk).
  let inDiff = false;
  // Between `diff --git` and the first `@@` (index, mode, ---/+++ lines).
  let inFileHeader = false;
  // For messages: the `a/... b/...` of the diff being read and its latest hunk header.
  let diffFile = "";
  let lastHunk = "";

  for (const line of lines) {
    if (oldLeft > 0 || newLeft > 0) {
      // Inside a hunk body: everything belongs to it. Mail software may strip the
      // single space of an empty context line, so "" counts as context.
      const op = line === "" ? " " : line[0];
      if (op === " ") {
        oldLeft--;
        newLeft--;
      } else if (op === "-") oldLeft--;
      else if (op === "+") newLeft--;
      else if (op !== "\\") {
        throw new PatchError(
          `${mailFile}: hunk ${lastHunk} of ${diffFile} ends early at ${JSON.stringify(line)}`,
          "parse",
          mailFile,
          lastHunk,
        );
      }
      current?.lines.push(line === "" ? " " : line);
      continue;
    }
    if (line === "-- ") break; // format-patch signature: end of the patch
    if (line.startsWith("diff --git ")) {
      current = line === target ? { lines: [line], hunks: [] } : null;
      diffFile = line.slice("diff --git ".length);
      if (current) sections.push(current);
      inDiff = true;
      inFileHeader = true;
      continue;
    }
    if (!inDiff) continue; // commit message, diffstat, mail headers
    const hunk = HUNK_RE.exec(line);
    if (hunk) {
      // Hunks of other files are counted too, so their bodies are skipped whole.
      inFileHeader = false;
      current?.lines.push(line);
      current?.hunks.push(hunk[0]);
      lastHunk = hunk[0];
      oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      continue;
    }
    if (line.startsWith("\\")) {
      // "\ No newline at end of file" right after a hunk's last line.
      current?.lines.push(line);
      continue;
    }
    if (inFileHeader) {
      current?.lines.push(line);
      continue;
    }
    // First line after a file's last hunk: that file's diff is over.
    current = null;
    inDiff = false;
  }

  if (oldLeft > 0 || newLeft > 0) {
    throw new PatchError(
      `${mailFile}: hunk ${lastHunk} of ${diffFile} is cut short (mail ends inside it)`,
      "parse",
      mailFile,
      lastHunk,
    );
  }
  if (sections.length === 0) {
    throw new PatchError(`${mailFile}: no diff for ${path} in this mail`, "no-diff", mailFile);
  }
  if (sections.length > 1) {
    throw new PatchError(
      `${mailFile}: ${sections.length} separate diffs for ${path}; expected one`,
      "parse",
      mailFile,
    );
  }
  const section = sections[0];
  if (section.hunks.length === 0) {
    throw new PatchError(`${mailFile}: the diff for ${path} has no hunks`, "no-diff", mailFile);
  }
  let preImage: string | null = null;
  let postImage: string | null = null;
  for (const l of section.lines) {
    const m = INDEX_RE.exec(l);
    if (m) {
      preImage = m[1];
      postImage = m[2];
    }
  }
  return {
    mailFile,
    diff: section.lines.join("\n") + "\n",
    hunks: section.hunks,
    preImage,
    postImage,
  };
}

/** Where the hunk's old side stops matching `baseLines` at the line its header names. */
function firstMismatch(
  hunk: StructuredPatch["hunks"][number],
  baseLines: string[],
): { line: number; expected: string; found: string | undefined } | null {
  let pos = hunk.oldStart - 1;
  for (const l of hunk.lines) {
    const op = l === "" ? " " : l[0];
    if (op !== " " && op !== "-") continue;
    const expected = l.slice(1);
    if (baseLines[pos] !== expected) return { line: pos + 1, expected, found: baseLines[pos] };
    pos++;
  }
  return null;
}

function shortHash(h: string): string {
  return h.slice(0, 12);
}

/**
 * Apply an extracted uapi diff to `base` and verify the post-image blob when the
 * diff names one. Throws PatchError naming the mail, the hunk and the base line.
 */
export function applyMailDiff(base: string, mail: MailDiff): string {
  let patch: StructuredPatch;
  try {
    const parsed = parsePatch(mail.diff);
    if (parsed.length !== 1) throw new Error(`expected one file diff, got ${parsed.length}`);
    patch = parsed[0];
  } catch (e) {
    throw new PatchError(
      `${mail.mailFile}: cannot parse the ${UAPI_PATH} diff: ${(e as Error).message}`,
      "parse",
      mail.mailFile,
    );
  }

  const baseBlob = gitBlobSha1(base);
  const preNote =
    mail.preImage && !baseBlob.startsWith(mail.preImage)
      ? ` (the mail was made against blob ${shortHash(mail.preImage)}, this base is ${shortHash(baseBlob)})`
      : "";

  const result = applyPatch(base, patch, { fuzzFactor: 0 });
  if (result === false) {
    // jsdiff only says "no"; find the first hunk that does not fit by applying
    // growing prefixes of the hunk list, then show where its text diverges.
    let bad = patch.hunks.length - 1;
    for (let k = 1; k <= patch.hunks.length; k++) {
      if (
        applyPatch(base, { ...patch, hunks: patch.hunks.slice(0, k) }, { fuzzFactor: 0 }) === false
      ) {
        bad = k - 1;
        break;
      }
    }
    const hunk = patch.hunks[bad];
    const header =
      mail.hunks[bad] ??
      `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
    const miss = firstMismatch(hunk, base.split("\n"));
    const where = miss
      ? `base line ${miss.line} is ${miss.found === undefined ? "past the end of the file" : JSON.stringify(miss.found)}, the hunk expects ${JSON.stringify(miss.expected)}`
      : `its context matches at line ${hunk.oldStart} but it overlaps an earlier hunk`;
    throw new PatchError(
      `${mail.mailFile}: hunk ${header} of ${UAPI_PATH} does not apply: ${where}${preNote}`,
      "hunk",
      mail.mailFile,
      header,
      miss?.line ?? hunk.oldStart,
    );
  }

  if (mail.postImage) {
    const blob = gitBlobSha1(result);
    if (!blob.startsWith(mail.postImage)) {
      throw new PatchError(
        `${mail.mailFile}: ${UAPI_PATH} patched to git blob ${shortHash(blob)}, but the mail's index line says ${mail.postImage}${preNote}`,
        "blob",
        mail.mailFile,
      );
    }
  }
  return result;
}

/** Extract the uapi diff of a raw mail and apply it to `base` (verified, see applyMailDiff). */
export function applyMail(base: string, mailText: string, mailFile: string): string {
  return applyMailDiff(base, extractUapiDiff(mailText, mailFile));
}
