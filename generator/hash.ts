/**
 * The two content hashes the project records: sha256 (schemas, banners, pinned
 * corpus files) and git's blob hash (what kernel patches print in `index` lines).
 * Text is hashed as its UTF-8 bytes.
 */
import { createHash } from "node:crypto";

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(bytesOf(data)).digest("hex");
}

/** `git hash-object`: sha1 over `blob <byte length>\0` + the bytes. */
export function gitBlobSha1(data: string | Uint8Array): string {
  const bytes = bytesOf(data);
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}
