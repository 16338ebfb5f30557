/**
 * Command line: mount memfs until Ctrl-C (or `umount <mountpoint>`).
 *
 *   npm run memfs -- <mountpoint> [--revision NAME] [--decline-compounds] [--cache-seconds N] [--capacity BYTES] [--writeback-cache] [--no-btime] [--reader poll|thread|pool] [--read-ahead BYTES|kernel] [--max-read BYTES|kernel] [--allow-other] [--debug]
 *
 * `--revision` picks the protocol revision the server speaks (a folder of
 * generated/, default base-7.45); revisions with FUSE_COMPOUND answer
 * compounds by running each sub-request through memfs's ordinary handlers,
 * or decline them with `--decline-compounds` (where the revision allows it).
 *
 * Needs root (mount(2)) and /dev/fuse. Prints one "mounted ..." line once the
 * kernel's INIT is answered, so scripts can wait for it.
 */
import { parseArgs } from "node:util";
import { FUSE_WRITEBACK_CACHE } from "../../generated/base-7.45/index.js";
import {
  DEFAULT_REVISION,
  READERS,
  availableRevisions,
  loadProtocol,
  mount,
  type Reader,
} from "../../server/index.js";
import { MEMFS_INIT_FLAGS, MemFs } from "./memfs.js";

const USAGE =
  "usage: npm run memfs -- <mountpoint> [--revision NAME] [--decline-compounds] [--cache-seconds N] [--capacity BYTES] [--writeback-cache] [--no-btime] [--reader poll|thread|pool] [--read-ahead BYTES|kernel] [--max-read BYTES|kernel] [--allow-other] [--debug]";

/** A `--read-ahead`/`--max-read` value: undefined when absent, null when not a byte count ≥ min or "kernel". */
function bytesOrKernel(arg: string | undefined, min: number): number | "kernel" | undefined | null {
  if (arg === undefined || arg === "kernel") return arg;
  const n = Number(arg);
  return /^\d+$/.test(arg) && Number.isSafeInteger(n) && n >= min ? n : null;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      allowPositionals: true,
      options: {
        revision: { type: "string" },
        "decline-compounds": { type: "boolean" },
        "cache-seconds": { type: "string" },
        capacity: { type: "string" },
        "allow-other": { type: "boolean" },
        "writeback-cache": { type: "boolean" },
        reader: { type: "string" },
        "read-ahead": { type: "string" },
        "max-read": { type: "string" },
        "no-btime": { type: "boolean" },
        debug: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help || positionals.length !== 1) {
    console.error(
      `${USAGE}\nrevisions: ${availableRevisions().join(", ")} (default ${DEFAULT_REVISION})`,
    );
    return values.help ? 0 : 2;
  }
  const reader = values.reader as Reader | undefined;
  if (reader !== undefined && !READERS.includes(reader)) {
    console.error(`--reader takes poll, thread or pool, got ${JSON.stringify(reader)}\n${USAGE}`);
    return 2;
  }
  const readAhead = bytesOrKernel(values["read-ahead"], 0);
  const maxRead = bytesOrKernel(values["max-read"], 4096);
  if (readAhead === null || maxRead === null) {
    const [flag, min] =
      readAhead === null ? (["read-ahead", 0] as const) : (["max-read", 4096] as const);
    console.error(
      `--${flag} takes a byte count of at least ${min} or kernel, got ${JSON.stringify(values[flag])}\n${USAGE}`,
    );
    return 2;
  }
  let protocol;
  try {
    protocol = await loadProtocol(values.revision ?? DEFAULT_REVISION);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const mountpoint = positionals[0]!;
  const fs = new MemFs({
    cacheSeconds:
      values["cache-seconds"] !== undefined ? Number(values["cache-seconds"]) : undefined,
    capacity: values.capacity !== undefined ? Number(values.capacity) : undefined,
    btime: !values["no-btime"],
  });
  const m = await mount(mountpoint, fs, {
    name: "memfs",
    allowOther: values["allow-other"],
    // --writeback-cache: the kernel gathers small writes in its page cache and sends big ones.
    flags:
      BigInt(MEMFS_INIT_FLAGS) | (values["writeback-cache"] ? BigInt(FUSE_WRITEBACK_CACHE) : 0n),
    protocol,
    compounds: values["decline-compounds"] ? "decline" : "execute",
    reader,
    readAhead,
    maxRead,
    onRequest: values.debug
      ? (bytes) => {
          const h = protocol.decodeHeader(bytes);
          console.error(
            `-> ${protocol.opcodeName(h.opcode) ?? h.opcode} unique=${h.unique} nodeid=${h.nodeid} len=${h.len}`,
          );
        }
      : undefined,
  });
  const c = m.connection!;
  console.log(
    `mounted memfs at ${m.mountpoint} (FUSE ${c.major}.${c.minor}, revision ${c.revision}, max_write ${c.maxWrite}, read-ahead ${m.readAhead === undefined ? "unknown" : `${m.readAhead / 1024} KiB`}); Ctrl-C to unmount`,
  );
  // SIGINT/SIGTERM unmount and exit 130/143 (mount() installs that); an outside umount ends the loop (exit 0).
  await m.done;
  await m.close();
  console.log("unmounted");
  return m.exitCode;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`memfs: ${(err as Error).message ?? err}`);
    process.exit(1);
  },
);
