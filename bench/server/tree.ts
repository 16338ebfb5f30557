/**
 * A made-up source tree for the "untar, find, grep -r, rm -rf" workload:
 * nested folders of C-like files of 1–32 KiB (deterministic, the same on every
 * run), packed once into a tarball outside any mount.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Tree {
  readonly tarball: string;
  readonly files: number;
  /** Files containing the word grep looks for. */
  readonly needles: number;
  readonly bytes: number;
}

function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function source(rnd: () => number, id: number, needle: boolean): string {
  const target = 1024 + Math.floor(rnd() * 31 * 1024);
  const lines = [
    `/* file ${id}: generated for the fuse-uapi server benchmark */`,
    "#include <stdint.h>",
    "",
  ];
  let size = lines.join("\n").length;
  for (let f = 0; size < target; f++) {
    const fn = [
      `static int fn_${id}_${f}(const struct item_${f % 7} *p, uint32_t n)`,
      "{",
      `\tuint32_t acc = ${Math.floor(rnd() * 1e6)};`,
      "\tfor (uint32_t i = 0; i < n; i++)",
      `\t\tacc = acc * 31 + p[i].value_${f % 5};`,
      f === 3 && needle ? "\t/* FUSE_UAPI_BENCH_NEEDLE */" : "\t/* nothing to see */",
      "\treturn (int)acc;",
      "}",
      "",
    ].join("\n");
    lines.push(fn);
    size += fn.length + 1;
  }
  return lines.join("\n");
}

/** Writes the tree under `work`/src and packs it as `work`/tree.tar. */
export function makeTree(work: string, opts: { top: number; sub: number; perDir: number }): Tree {
  const rnd = prng(0x5eed);
  let files = 0;
  let needles = 0;
  let bytes = 0;
  const root = join(work, "tree", "src");
  for (let a = 0; a < opts.top; a++) {
    for (let b = 0; b < opts.sub; b++) {
      const dir = join(root, `subsys${a}`, `part${b}`);
      mkdirSync(dir, { recursive: true });
      for (let c = 0; c < opts.perDir; c++) {
        const needle = files % 7 === 3;
        const text = source(rnd, files, needle);
        writeFileSync(join(dir, `unit${c}.${c % 4 === 0 ? "h" : "c"}`), text);
        files++;
        if (needle) needles++;
        bytes += text.length;
      }
    }
  }
  const tarball = join(work, "tree.tar");
  const r = spawnSync("tar", ["-cf", tarball, "-C", join(work, "tree"), "src"], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`tar -cf failed: ${r.error?.message ?? r.stderr}`);
  return { tarball, files, needles, bytes };
}
