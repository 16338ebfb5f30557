/**
 * Function-like macros (FUSE_REC_ALIGN, FUSE_DIRENT_SIZE, ...): userspace
 * computes record sizes with them, so a changed body can change what goes on
 * the wire. Bodies are compared with whitespace folded; a body rewritten to the
 * same recognised helper (e.g. still "round up to 8", proven by evaluation in
 * the schema builder) is a compatible change.
 */
import type { MacroDef, Schema } from "../model.js";
import type { Change } from "./change.js";

const fold = (s: string) => s.replace(/\s+/g, " ").trim();
const signature = (m: MacroDef) => `${m.name}(${m.params.join(", ")})`;

export function diffMacros(a: Schema, b: Schema): Change[] {
  const out: Change[] = [];
  const oldByName = new Map(a.macros.map((m) => [m.name, m]));
  const newNames = new Set(b.macros.map((m) => m.name));
  for (const mb of b.macros) {
    const ma = oldByName.get(mb.name);
    if (!ma) {
      out.push({
        kind: "macro-added",
        subject: `${mb.name}()`,
        detail: `added: ${signature(mb)} ${fold(mb.body)}`,
        severity: "compatible",
        reason: "a new helper: nothing existing changes",
      });
      continue;
    }
    if (ma.params.join(",") === mb.params.join(",") && fold(ma.body) === fold(mb.body)) continue;
    const sameHelper =
      !!ma.helper &&
      !!mb.helper &&
      ma.helper.kind === mb.helper.kind &&
      ma.helper.alignment === mb.helper.alignment;
    const paramsChanged = ma.params.join(",") !== mb.params.join(",");
    out.push({
      kind: "macro-changed",
      subject: `${mb.name}()`,
      detail: `${signature(ma)} ${fold(ma.body)} → ${signature(mb)} ${fold(mb.body)}`,
      severity: sameHelper && !paramsChanged ? "compatible" : "breaking",
      reason:
        sameHelper && !paramsChanged
          ? `still rounds up to a multiple of ${mb.helper!.alignment} (checked by evaluation)`
          : paramsChanged
            ? "its parameters changed: callers no longer compile or mean something else"
            : "sizes computed with it may differ from what old peers compute",
    });
  }
  for (const ma of a.macros)
    if (!newNames.has(ma.name))
      out.push({
        kind: "macro-removed",
        subject: `${ma.name}()`,
        detail: `removed: ${signature(ma)} ${fold(ma.body)}`,
        severity: "breaking",
        reason: "code using it no longer compiles",
      });
  return out;
}
