/**
 * The ABI diff of two schemas: every change, classified against FUSE's ABI
 * rules. A FUSE peer (kernel or server) built against the old header must keep
 * working with one built against the new header; "breaking" means it may not.
 *
 * Rules (each change carries the one-line reason it was classified so):
 *
 * Breaking
 *  - opcode or enum member removed, or its value changed (an opcode *move*,
 *    e.g. FUSE_COMPOUND 101 → 54); a new member taking a value an old member
 *    had (the old peer reads it as the old member);
 *  - constant removed, or its value changed on any target (except
 *    FUSE_KERNEL_MINOR_VERSION going up: the minor is negotiated at INIT);
 *  - flag removed, renumbered (same name, other bit), or a bit reused by another
 *    name of the same flag family (see ./constants.ts for "family");
 *  - struct removed; size or alignment changed on any target, unless the struct
 *    only grew at the end and its size is negotiated (below);
 *  - field removed, moved (offset changed on any target), retyped or resized,
 *    or inserted among existing fields; a named (non-padding) field placed in
 *    an old implicit hole (old peers leave that hole uninitialised); a real
 *    field renamed to padding (its meaning is dropped);
 *  - a struct whose layout starts to differ between targets (lint size-differs /
 *    offset-differs): i386 servers on x86_64 kernels read another layout, and
 *    FUSE has no compat translation — reported for new structs too;
 *  - function-like macro removed, or its body changed (unless it is still the
 *    same recognised helper, e.g. round up to 8), or its parameters changed;
 *  - protocol (when both schemas have one): request or reply parts of an opcode
 *    changed, a notification body changed, a negotiated short size removed or
 *    changed, request extensions withdrawn;
 *  - compound semantics (when both schemas have them, ./compound.ts): a struct sent before
 *    every sub-request or sub-reply added, removed or changed (even when the header only
 *    adds the struct), a count/flags/result-size member moved or gone, another dependency
 *    model, other decline errnos or effects.
 *
 * Compatible
 *  - opcode, enum member, enum, constant, flag with a new bit, struct, macro
 *    added;
 *  - a field appended at the end of a struct whose size is negotiated, i.e. the
 *    protocol table lists a short size for it (`protocol.compatSizes`: sent
 *    shorter below a minor version or without an INIT flag). Appending to a
 *    struct without such an entry is reported *breaking*, with the reason
 *    "breaking unless the size is negotiated": the header alone cannot prove
 *    a peer copes with a longer struct;
 *  - padding made explicit: a field named like padding (padding, reserved,
 *    spare, unused, ...) that fills an old implicit hole;
 *  - a field renamed (same type and offset on every target; a heuristic, said
 *    in the detail); padding given a meaning (old peers send zero there);
 *  - implicit padding appearing or disappearing: not a layout change by itself
 *    (the layout change behind it is reported on its own), but a new hole is
 *    flagged because its bytes go uninitialised on the wire;
 *  - a cross-target layout difference going away; a constant's C type changing
 *    with its value unchanged; a new negotiated short size; request extensions
 *    added (only sent when negotiated at INIT).
 *
 * Not reported: comments, source positions, expression spelling with the same
 * value, typedef spelling (`__u32` vs `uint32_t`), the schema's source info.
 */
import type { Schema } from "../model.js";
import { type Change, SECTIONS, sectionOf } from "./change.js";
import { diffCompound } from "./compound.js";
import { diffConstants } from "./constants.js";
import { diffEnums } from "./enums.js";
import { diffMacros } from "./macros.js";
import { diffProtocol } from "./protocol.js";
import { diffStructs } from "./structs.js";

export { type Change, type ChangeKind, type Severity, summary } from "./change.js";

/** A new struct that the new revision sends before every sub-request or sub-reply is not "only in new messages". */
function prefixAware(changes: Change[], b: Schema): Change[] {
  const f = b.compound?.framing;
  const prefixes = new Set(
    [f?.subRequestPrefix?.struct, f?.subReplyPrefix?.struct]
      .filter((x): x is string => !!x)
      .map((x) => `struct ${x}`),
  );
  return changes.map((c) =>
    c.kind === "struct-added" && prefixes.has(c.subject)
      ? {
          ...c,
          severity: "breaking",
          reason:
            "the compound sends it before every sub-request: every compound's layout changes (see Compound semantics)",
        }
      : c,
  );
}

/** Every ABI change from `a` to `b`, grouped by section (SECTIONS order), header order within. */
export function diffSchemas(a: Schema, b: Schema): Change[] {
  const all = [
    ...diffEnums(a, b),
    ...diffConstants(a, b),
    ...prefixAware(diffStructs(a, b), b),
    ...diffMacros(a, b),
    ...diffProtocol(a, b),
    ...diffCompound(a, b),
  ];
  const rank = (c: Change) => SECTIONS.indexOf(sectionOf(c.kind));
  // Array.prototype.sort is stable: header order survives within a section.
  return all.sort((x, y) => rank(x) - rank(y));
}
