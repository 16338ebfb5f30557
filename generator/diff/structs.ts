/**
 * Structs and unions: size, alignment, fields and padding, on every target.
 *
 * Fields are matched by name (anonymous members by their order among anonymous
 * members). What is left unmatched is then explained, in this order:
 *  1. renamed: a removed and an added field with the same type and the same
 *     offset on every target. A heuristic (the header does not say it is the
 *     same field), and the report says so;
 *  2. padding made explicit: an added field named like padding (padding,
 *     reserved, spare, unused, ...) that lies inside an old implicit hole;
 *  3. appended: an added field at or past the old size on every target;
 *  4. otherwise plain added (inserted) or removed.
 * Implicit holes come from `layout.padding`, cross-target disagreement from
 * the schema's `lint` (size-differs / offset-differs).
 */
import {
  type CompatSize,
  type Field,
  type PaddingHole,
  type Schema,
  type StructDef,
  type Target,
  TARGETS,
  type TypeRef,
} from "../model.js";
import { typeText } from "../parse/ctype.js";
import {
  acrossTargets,
  type Change,
  changedTargets,
  onTargets,
  perTarget,
  transitions,
} from "./change.js";

const PADDING_NAME = /^_*(pad|padding|reserved|spare|unused|dummy)[_0-9]*$/i;

export function isPaddingName(name: string | null): boolean {
  return name !== null && PADDING_NAME.test(name);
}

/** The type as a comparable key: spelling (`__u32` vs `uint32_t`) does not matter, the C type does. */
export function typeKey(t: TypeRef): string {
  switch (t.kind) {
    case "int":
      return t.name;
    case "char":
      return "char";
    case "long":
      return t.signed ? "long" : "unsigned long";
    case "pointer":
      return `${typeKey(t.to)}*`;
    case "struct":
    case "union":
    case "enum":
      return `${t.kind} ${t.name}`;
    case "record":
      return `${t.union ? "union" : "struct"} { ${t.fields.map((f) => `${typeKey(f.type)} ${f.name ?? ""};`).join(" ")} }`;
    case "array":
      return `${typeKey(t.of)}[${t.length ?? ""}]`;
  }
}

interface StructContext {
  /** Protocol facts saying the struct's size is negotiated (sent shorter to old peers). */
  negotiated: (struct: string) => CompatSize[];
  /** Whether either schema has a protocol table at all (else "negotiated" is unknowable). */
  haveProtocol: boolean;
}

export function diffStructs(a: Schema, b: Schema): Change[] {
  // Either side saying the size is negotiated counts (an old short size stays valid); same entry once.
  const compat = [
    ...new Map(
      [...(a.protocol?.compatSizes ?? []), ...(b.protocol?.compatSizes ?? [])].map((c) => [
        JSON.stringify(c),
        c,
      ]),
    ).values(),
  ];
  const ctx: StructContext = {
    negotiated: (name) => compat.filter((c) => c.struct === name),
    haveProtocol: !!(a.protocol && b.protocol),
  };
  const out: Change[] = [];
  const oldByName = new Map(a.structs.map((s) => [s.name, s]));
  const newNames = new Set(b.structs.map((s) => s.name));
  for (const sb of b.structs) {
    const sa = oldByName.get(sb.name);
    if (sa) out.push(...diffStruct(sa, sb, a, b, ctx));
    else out.push(...addedStruct(sb, b));
  }
  for (const sa of a.structs)
    if (!newNames.has(sa.name))
      out.push({
        kind: "struct-removed",
        subject: title(sa),
        detail: `removed (was ${acrossTargets(perTarget((t) => sa.layout[t].size))} bytes)`,
        severity: "breaking",
        reason: "old peers still send or expect it; code using it no longer compiles",
      });
  return out;
}

function title(s: StructDef): string {
  return `${s.union ? "union" : "struct"} ${s.name}`;
}

function addedStruct(s: StructDef, b: Schema): Change[] {
  const out: Change[] = [
    {
      kind: "struct-added",
      subject: title(s),
      detail: `added: ${s.fields.length} field(s), ${acrossTargets(perTarget((t) => s.layout[t].size))} bytes`,
      severity: "compatible",
      reason: "a new struct: only new messages carry it",
    },
  ];
  out.push(...holeChanges(s, null, s, []), ...mismatchChanges(s, null, b));
  return out;
}

function diffStruct(
  sa: StructDef,
  sb: StructDef,
  a: Schema,
  b: Schema,
  ctx: StructContext,
): Change[] {
  const subject = title(sb);
  const fieldChanges: Change[] = [];
  const oldFields = keyed(sa.fields);
  const newFields = keyed(sb.fields);
  const removed: Field[] = [];
  const addedFields: Field[] = [];
  for (const [key, fa] of oldFields) if (!newFields.has(key)) removed.push(fa);
  for (const [key, fb] of newFields) {
    const fa = oldFields.get(key);
    if (!fa) {
      addedFields.push(fb);
      continue;
    }
    fieldChanges.push(...diffField(subject, fa, fb));
  }

  // 1. renames: same type, same offset everywhere.
  const renamed = new Set<Field>();
  for (const fa of removed) {
    const fb = addedFields.find(
      (f) =>
        !renamed.has(f) &&
        typeKey(f.type) === typeKey(fa.type) &&
        TARGETS.every((t) => f.layout[t].offset === fa.layout[t].offset),
    );
    if (!fb) continue;
    renamed.add(fa).add(fb);
    fieldChanges.push(renameChange(subject, fa, fb));
  }

  // 2-4. the added fields left over, then the removed ones.
  const removedChanges: Change[] = [];
  const filledHoles: { t: Target; hole: PaddingHole }[] = [];
  let grewAtEndOnly = true;
  for (const fb of addedFields) {
    if (renamed.has(fb)) continue;
    const inHole = TARGETS.flatMap((t) => {
      const hole = sa.layout[t].padding.find(
        (h) =>
          fb.layout[t].offset >= h.offset &&
          fb.layout[t].offset + fb.layout[t].size <= h.offset + h.size,
      );
      return hole ? [{ t, hole }] : [];
    });
    const where = `${typeText(fb.type)} ${fb.name ?? "(anonymous)"} at offset ${acrossTargets(perTarget((t) => fb.layout[t].offset))}`;
    if (inHole.length) {
      filledHoles.push(...inHole);
      const targets = inHole.map((h) => h.t);
      const hole = inHole[0].hole;
      fieldChanges.push(
        isPaddingName(fb.name)
          ? {
              kind: "padding-made-explicit",
              subject: `${subject}.${fb.name}`,
              detail: `${where} names the implicit hole after ${hole.after ?? "the start"} ${onTargets(targets)}`,
              severity: "compatible",
              reason: "the compiler already left those bytes: now they are named and can be zeroed",
              targets,
            }
          : {
              kind: "field-added",
              subject: `${subject}.${fb.name ?? "(anonymous)"}`,
              detail: `${where}, in the old implicit hole after ${hole.after ?? "the start"} ${onTargets(targets)}`,
              severity: "breaking",
              reason:
                "old peers leave implicit padding uninitialised: the new field reads garbage from them",
              targets,
            },
      );
      if (targets.length !== TARGETS.length) grewAtEndOnly = false;
      continue;
    }
    if (TARGETS.every((t) => fb.layout[t].offset >= sa.layout[t].size)) {
      const n = ctx.negotiated(sb.name);
      fieldChanges.push({
        kind: "field-appended",
        subject: `${subject}.${fb.name ?? "(anonymous)"}`,
        detail: `${where}, past the old end`,
        severity: n.length ? "compatible" : "breaking",
        reason: n.length
          ? `compatible because the size is negotiated (${negotiation(n)})`
          : notNegotiated(sb, ctx),
        targets: [...TARGETS],
      });
      continue;
    }
    grewAtEndOnly = false;
    const overlapped = sa.fields.filter((f) => f.name && overlaps(f, fb)).map((f) => f.name);
    fieldChanges.push({
      kind: "field-added",
      subject: `${subject}.${fb.name ?? "(anonymous)"}`,
      detail: `${where}, inserted${overlapped.length ? ` where the old struct had ${overlapped.join(", ")}` : ""}`,
      severity: "breaking",
      reason: overlapped.length
        ? `old peers put ${overlapped.join(", ")} in those bytes`
        : "inserted among existing fields",
      targets: [...TARGETS],
    });
  }
  for (const fa of removed) {
    if (renamed.has(fa)) continue;
    grewAtEndOnly = false;
    removedChanges.push({
      kind: "field-removed",
      subject: `${subject}.${fa.name ?? "(anonymous)"}`,
      detail: `${typeText(fa.type)} ${fa.name ?? "(anonymous)"} removed (was at offset ${acrossTargets(perTarget((t) => fa.layout[t].offset))})`,
      severity: "breaking",
      reason: "old peers still read or write it at its old offset",
      targets: [...TARGETS],
    });
  }
  if (fieldChanges.some((c) => c.severity === "breaking" && c.kind !== "field-appended"))
    grewAtEndOnly = false;
  // Removals first: they explain the moves that follow.
  fieldChanges.unshift(...removedChanges);

  const out: Change[] = [];
  const sizesA = perTarget((t) => sa.layout[t].size);
  const sizesB = perTarget((t) => sb.layout[t].size);
  const sizeDiff = changedTargets(sizesA, sizesB);
  if (sizeDiff.length) {
    const grew = sizeDiff.every((t) => sizesB[t] > sizesA[t]);
    const n = ctx.negotiated(sb.name);
    const ok = grew && grewAtEndOnly && n.length > 0;
    out.push({
      kind: "struct-size-changed",
      subject,
      detail: `size ${transitions(sizesA, sizesB)}`,
      severity: ok ? "compatible" : "breaking",
      reason: ok
        ? `grew at the end only, and the size is negotiated (${negotiation(n)})`
        : grew && grewAtEndOnly
          ? notNegotiated(sb, ctx)
          : grew
            ? "the layout changed, not only the tail"
            : "shrunk: old peers send or expect the old size",
      targets: sizeDiff,
    });
  }
  const alignA = perTarget((t) => sa.layout[t].align);
  const alignB = perTarget((t) => sb.layout[t].align);
  const alignDiff = changedTargets(alignA, alignB);
  if (alignDiff.length)
    out.push({
      kind: "struct-align-changed",
      subject,
      detail: `alignment ${transitions(alignA, alignB)}`,
      severity: "breaking",
      reason: "structs and arrays that embed it lay out differently",
      targets: alignDiff,
    });
  out.push(...fieldChanges, ...holeChanges(sb, sa, sb, filledHoles), ...mismatchChanges(sb, a, b));
  return out;
}

function keyed(fields: Field[]): Map<string, Field> {
  const m = new Map<string, Field>();
  let anon = 0;
  for (const f of fields) m.set(f.name ?? `(anonymous #${++anon})`, f);
  return m;
}

function overlaps(fa: Field, fb: Field): boolean {
  return TARGETS.some((t) => {
    const x = fa.layout[t];
    const y = fb.layout[t];
    return x.offset < y.offset + y.size && y.offset < x.offset + x.size;
  });
}

function diffField(subject: string, fa: Field, fb: Field): Change[] {
  const out: Change[] = [];
  const name = fb.name ?? "(anonymous)";
  const offA = perTarget((t) => fa.layout[t].offset);
  const offB = perTarget((t) => fb.layout[t].offset);
  const moved = changedTargets(offA, offB);
  if (moved.length)
    out.push({
      kind: "field-moved",
      subject: `${subject}.${name}`,
      detail: `offset ${transitions(offA, offB)}`,
      severity: "breaking",
      reason: "old peers read and write it at the old offset",
      targets: moved,
    });
  if (typeKey(fa.type) !== typeKey(fb.type)) {
    out.push({
      kind: "field-type-changed",
      subject: `${subject}.${name}`,
      detail: `${typeText(fa.type)} → ${typeText(fb.type)}`,
      severity: "breaking",
      reason: "old peers encode and decode it as the old type",
      targets: [...TARGETS],
    });
  } else {
    // Same type name, different size: a nested struct it embeds changed (reported on its own too).
    const szA = perTarget((t) => fa.layout[t].size);
    const szB = perTarget((t) => fb.layout[t].size);
    const resized = changedTargets(szA, szB);
    if (resized.length)
      out.push({
        kind: "field-resized",
        subject: `${subject}.${name}`,
        detail: `${typeText(fb.type)} ${name}: size ${transitions(szA, szB)}`,
        severity: "breaking",
        reason: "the type it embeds changed size",
        targets: resized,
      });
  }
  return out;
}

function renameChange(subject: string, fa: Field, fb: Field): Change {
  const base = {
    kind: "field-renamed" as const,
    subject: `${subject}.${fb.name ?? "(anonymous)"}`,
    detail: `${fa.name ?? "(anonymous)"} → ${fb.name ?? "(anonymous)"} (${typeText(fb.type)} at offset ${acrossTargets(perTarget((t) => fb.layout[t].offset))}; matched by offset and type, a heuristic)`,
    targets: [...TARGETS],
  };
  if (isPaddingName(fa.name) && !isPaddingName(fb.name))
    return {
      ...base,
      severity: "compatible",
      reason:
        "reserved bytes take a meaning: old peers send zero there, so zero must mean 'not set'",
    };
  if (!isPaddingName(fa.name) && isPaddingName(fb.name))
    return {
      ...base,
      severity: "breaking",
      reason: "the field's meaning is dropped: what old peers put there is now ignored",
    };
  return {
    ...base,
    severity: "compatible",
    reason: "same bytes, new name: binary layout unchanged, only source using the old name breaks",
  };
}

function negotiation(n: CompatSize[]): string {
  return n
    .map(
      (c) =>
        `${c.size} bytes ${c.minorBelow !== undefined ? `below minor ${c.minorBelow}` : c.flagAbsent ? `without ${c.flagAbsent}` : "to old peers"}`,
    )
    .join(", ");
}

function notNegotiated(s: StructDef, ctx: StructContext): string {
  return ctx.haveProtocol
    ? `breaking unless the size is negotiated, and the protocol table has no short size of ${s.name}`
    : `breaking unless the size is negotiated (no protocol table to tell)`;
}

/**
 * Implicit holes that appear or disappear, grouped by hole across targets.
 * Holes filled by an added field are explained by that field's change already.
 */
function holeChanges(
  s: StructDef,
  before: StructDef | null,
  after: StructDef,
  filled: { t: Target; hole: PaddingHole }[],
): Change[] {
  const key = (h: PaddingHole) => `${h.offset}/${h.size}`;
  const text = (h: PaddingHole) =>
    `${h.size} byte(s) at offset ${h.offset}${h.after ? ` after ${h.after}` : " at the tail"}`;
  const appeared = new Map<string, Target[]>();
  const disappeared = new Map<string, Target[]>();
  for (const t of TARGETS) {
    const old = before?.layout[t].padding ?? [];
    const now = after.layout[t].padding;
    for (const h of now)
      if (!old.some((o) => key(o) === key(h)))
        appeared.set(text(h), [...(appeared.get(text(h)) ?? []), t]);
    for (const h of old)
      if (!now.some((n) => key(n) === key(h)) && !filled.some((f) => f.t === t && f.hole === h))
        disappeared.set(text(h), [...(disappeared.get(text(h)) ?? []), t]);
  }
  const subject = title(s);
  return [
    ...[...appeared].map(([hole, targets]): Change => ({
      kind: "padding-appeared",
      subject,
      detail: `implicit padding: ${hole} ${onTargets(targets)}`,
      severity: "compatible",
      reason:
        "not a layout change by itself, but those bytes go uninitialised on the wire: FUSE pads explicitly",
      targets,
    })),
    ...[...disappeared].map(([hole, targets]): Change => ({
      kind: "padding-disappeared",
      subject,
      detail: `implicit padding gone: ${hole} ${onTargets(targets)}`,
      severity: "compatible",
      reason: "no uninitialised bytes left there; any layout change is reported on its own",
      targets,
    })),
  ];
}

/** The lint's size-differs/offset-differs entries of a struct, as one line, or null when targets agree. */
function mismatch(schema: Schema, struct: string): string | null {
  const parts = schema.lint
    .filter(
      (l) => l.struct === struct && (l.kind === "size-differs" || l.kind === "offset-differs"),
    )
    .map((l) => {
      const figures = TARGETS.filter((t) => l.detail[t] !== undefined)
        .map((t) => `${t} ${l.detail[t]}`)
        .join(", ");
      return l.kind === "size-differs"
        ? `size ${figures}`
        : `offset of ${l.field ?? "(anonymous)"} ${figures}`;
    });
  return parts.length ? parts.join("; ") : null;
}

/** `a` null: the struct is new, so any disagreement between targets is new too. */
function mismatchChanges(s: StructDef, a: Schema | null, b: Schema): Change[] {
  const before = a && mismatch(a, s.name);
  const after = mismatch(b, s.name);
  if (after && !before)
    return [
      {
        kind: "struct-target-mismatch",
        subject: title(s),
        detail: `layout differs between targets: ${after}`,
        severity: "breaking",
        reason:
          "32-bit servers on 64-bit kernels (i386 on x86_64) read another layout than the kernel writes; FUSE has no compat translation",
        targets: [...TARGETS],
      },
    ];
  if (before && !after)
    return [
      {
        kind: "struct-target-mismatch-fixed",
        subject: title(s),
        detail: `layout now identical on all targets (was: ${before})`,
        severity: "compatible",
        reason: "32-bit and 64-bit peers now agree on the layout",
        targets: [...TARGETS],
      },
    ];
  return [];
}
