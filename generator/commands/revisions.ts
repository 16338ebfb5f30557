/** `fuse-uapi revisions`: list the known revisions, or re-extract their schemas. */
import { relative } from "node:path";
import { loadKnownRevisions } from "../revisions/registry.js";
import { extractRevisions } from "./schema.js";

export async function revisionsCommand(opts: { extract?: boolean; json?: boolean }): Promise<void> {
  if (opts.extract) {
    for (const path of await extractRevisions())
      process.stdout.write(`wrote ${relative(process.cwd(), path)}\n`);
    return;
  }
  const revisions = await loadKnownRevisions();
  if (opts.json) {
    process.stdout.write(JSON.stringify(revisions, null, 2) + "\n");
    return;
  }
  const width = Math.max(...revisions.map((r) => r.name.length));
  for (const r of revisions) {
    const from = r.header
      ? `header ${r.header.path}`
      : r.mails.length
        ? `${r.base.path} + ${r.mails.join(", ")}`
        : r.base.path;
    process.stdout.write(
      `${r.name.padEnd(width)}  ${r.date}  ${r.title}\n${" ".repeat(width)}  ${from}\n`,
    );
  }
}
