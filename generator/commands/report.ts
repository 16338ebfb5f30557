/**
 * `fuse-uapi report [schema...] -o <dir>`: the static HTML ABI report
 * (../report/site.ts) of the given schemas (revision names or files, oldest
 * first), or of every known revision in schema/known-revisions.json order.
 *
 * Writes only inside <dir>: pages/ through render/write.ts's writeGenerated
 * (a temporary folder inside <dir>, renamed into place), then index.html
 * through a temporary file beside it, so a reader never sees a page linking to
 * a missing one. It refuses to replace an index.html or a pages/ it did not
 * write (the generator meta tag tells), so naming a folder of other files
 * costs none of them. Bad input → InputError (exit 2), nothing written.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { join, relative, resolve } from "node:path";
import { committedRevisions, resolveSchemaArg } from "../diff/resolve.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../io.js";
import { writeGenerated } from "../render/write.js";
import { GENERATOR_MARK } from "../report/html.js";
import { buildSite, PAGES_DIR, type ReportRevision, type Site } from "../report/site.js";
import { type KnownRevision, loadKnownRevisions } from "../revisions/registry.js";

export interface ReportCommandOptions {
  output: string;
}

/** The revisions to draw: the arguments, or every known revision that has a committed schema. */
export async function reportRevisions(args: readonly string[]): Promise<ReportRevision[]> {
  const known = await loadKnownRevisions();
  const meta = (label: string): Partial<KnownRevision> => known.find((k) => k.name === label) ?? {};
  if (!args.length) {
    const have = new Set(committedRevisions());
    const missing = known.filter((k) => !have.has(k.name)).map((k) => k.name);
    if (missing.length)
      throw new InputError(
        `no committed schema for revision(s) ${missing.join(", ")}; run \`fuse-uapi revisions --extract\``,
      );
    if (!known.length) throw new InputError("no known revisions; name schemas to report on");
    args = known.map((k) => k.name);
  }
  return args.map((arg) => {
    const { schema, label } = resolveSchemaArg(arg);
    const { title, date } = meta(label);
    return { label, schema, ...(title ? { title } : {}), ...(date ? { date } : {}) };
  });
}

export async function buildReport(args: readonly string[]): Promise<Site> {
  return buildSite(await reportRevisions(args));
}

function writtenByReport(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(1024);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString("utf8").includes(GENERATOR_MARK);
  } finally {
    closeSync(fd);
  }
}

/** Throws unless every file the report would replace in `out` is one it wrote. */
export function checkOutputFolder(out: string): void {
  const st = statSync(out, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) throw new InputError(`${out}: exists and is not a folder`);
  const index = join(out, "index.html");
  const ist = statSync(index, { throwIfNoEntry: false });
  if (ist && !(ist.isFile() && writtenByReport(index)))
    throw new InputError(
      `${index}: exists and was not written by fuse-uapi report; not replacing it (choose another -o)`,
    );
  const pages = join(out, PAGES_DIR);
  const pst = statSync(pages, { throwIfNoEntry: false });
  if (!pst) return;
  if (!pst.isDirectory())
    throw new InputError(
      `${pages}: exists and is not a folder written by fuse-uapi report; not replacing it (choose another -o)`,
    );
  for (const e of readdirSync(pages, { withFileTypes: true })) {
    const path = join(pages, e.name);
    if (!(e.isFile() && e.name.endsWith(".html") && writtenByReport(path)))
      throw new InputError(
        `${path}: not written by fuse-uapi report; not replacing ${pages}/ (choose another -o)`,
      );
  }
}

export async function reportCommand(args: string[], opts: ReportCommandOptions): Promise<void> {
  const out = opts.output;
  if (!out) throw new InputError("report needs -o <dir>");
  checkOutputFolder(out);
  const site = await buildReport(args);
  const pagesChanged = await writeGenerated(join(out, PAGES_DIR), site.pages);
  const index = join(out, "index.html");
  const indexChanged = !existsSync(index) || readFileSync(index, "utf8") !== site.index;
  if (indexChanged) writeFileAtomic(index, site.index);
  const rel = relative(process.cwd(), out);
  const where = rel === "" ? "." : rel.startsWith("..") ? resolve(out) : rel;
  process.stdout.write(
    `${pagesChanged || indexChanged ? "wrote" : "unchanged"} ${where}/ (index.html, ${site.pages.size} pages in ${PAGES_DIR}/)\n`,
  );
}
