/**
 * Protocol-table overlays: a downstream project describes the opcodes (and
 * notification codes, compat sizes) its own header adds, in a JSON file of the
 * same vocabulary as schema/protocol.json, instead of editing the installed
 * package. Overlays are validated against schema/protocol-overlay.schema.json
 * and merged by name over the table, in order: an overlay entry replaces the
 * entry of the same opcode, compat sizes are appended.
 */
import { InputError } from "./errors.js";
import { readJsonFile } from "./io.js";
import { loadProtocolTable, type ProtocolTable } from "./protocol.js";
import { jsonSchemaValidator } from "./schema-file.js";

export type ProtocolOverlay = Partial<
  Pick<ProtocolTable, "opcodes" | "notifications" | "compatSizes">
>;

/** The overlay schema refers to the table's own definitions (schema-file compiles it with its siblings). */
const overlayProblem = jsonSchemaValidator("protocol-overlay.schema.json");

/** Reads and validates one overlay file; errors name the file and the JSON path. */
export function loadOverlay(path: string): ProtocolOverlay {
  const data = readJsonFile(path, "protocol-table overlay");
  const problem = overlayProblem(data);
  if (problem) throw new InputError(`${path}: not a protocol-table overlay: ${problem}`);
  return data as ProtocolOverlay;
}

/** `base` with each overlay merged over it in order (a new object; `base` is not changed). */
export function mergeOverlays(base: ProtocolTable, overlays: ProtocolOverlay[]): ProtocolTable {
  const merged: ProtocolTable = {
    ...base,
    opcodes: { ...base.opcodes },
    notifications: { ...base.notifications },
    compatSizes: [...base.compatSizes],
  };
  for (const o of overlays) {
    Object.assign(merged.opcodes, o.opcodes ?? {});
    Object.assign(merged.notifications, o.notifications ?? {});
    merged.compatSizes.push(...(o.compatSizes ?? []));
  }
  return merged;
}

/** The protocol table (schema/protocol.json) with the overlay files at `paths` merged over it. */
export function protocolTableWith(paths: readonly string[]): ProtocolTable {
  const base = loadProtocolTable();
  return paths.length === 0 ? base : mergeOverlays(base, paths.map(loadOverlay));
}

/** The default name suggested for a project's overlay when it has none yet. */
export const SUGGESTED_OVERLAY = "fuse-protocol.overlay.json";

/**
 * One line naming what the table lacks and the overlay to write, with a
 * skeleton entry to fill in, and the explicit way out (raw codecs).
 */
export function unknownOpcodesError(
  origin: string,
  unknown: { kind: "opcode" | "notification"; name: string; value: string }[],
  overlay = SUGGESTED_OVERLAY,
): InputError {
  const listed = unknown.map((u) => `${u.kind} ${u.name} (${u.value})`).join(", ");
  const opcodes = unknown
    .filter((u) => u.kind === "opcode")
    .map((u) => `${JSON.stringify(u.name)}: {"request": [...], "reply": {...}}`);
  const notifications = unknown
    .filter((u) => u.kind === "notification")
    .map((u) => `${JSON.stringify(u.name)}: {"parts": [...]}`);
  const skeleton = [
    opcodes.length ? `"opcodes": {${opcodes.join(", ")}}` : "",
    notifications.length ? `"notifications": {${notifications.join(", ")}}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return new InputError(
    `${origin}: the protocol table has no entry for ${listed}: describe ${unknown.length === 1 ? "it" : "them"} in the protocol-table overlay ${overlay} ({${skeleton}}, vocabulary of schema/protocol.json) named in fuse-uapi.config.json "overlays" or by --overlay, or pass --raw-unknown-opcodes for raw-byte codecs`,
  );
}
