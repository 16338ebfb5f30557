/**
 * `generate --watch`: generates, then regenerates when an input changes (here
 * the header of the config, then the overlay), and stops cleanly (exit 0, no
 * child left) on SIGTERM. No timing assertions: the test waits for the output
 * to change, bounded only by the test's timeout.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../generator/revisions/registry.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const FIXTURES = join(repoRoot(), "test", "fixtures", "overlay");
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-watch-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Polls until `check` holds (the test's own timeout bounds the wait). */
async function until(what: string, check: () => boolean, child: ChildProcess): Promise<void> {
  while (!check()) {
    if (child.exitCode !== null)
      throw new Error(`watch exited (${child.exitCode}) before: ${what}`);
    await sleep(50);
  }
}

test(
  "generate --watch regenerates on a header and an overlay change, and stops on SIGTERM",
  { timeout: 120_000 },
  async () => {
    mkdirSync(join(work, "include"));
    const header = join(work, "include", "frob-fuse.h");
    const overlay = join(work, "include", "frob.overlay.json");
    copyFileSync(join(FIXTURES, "frob-fuse.h"), header);
    copyFileSync(join(FIXTURES, "frob.overlay.json"), overlay);
    writeFileSync(
      join(work, "fuse-uapi.config.json"),
      JSON.stringify({
        output: "gen",
        inputs: [{ header: "include/frob-fuse.h", name: "frob" }],
        overlays: ["include/frob.overlay.json"],
      }),
    );
    const constants = join(work, "gen", "frob", "constants.ts");
    const messages = join(work, "gen", "frob", "messages.ts");

    const child = spawn(process.execPath, [CLI, "generate", "--watch"], {
      cwd: work,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    try {
      await until("the first generation", () => /waiting for changes/.test(out), child);
      assert.ok(existsSync(constants), out + err);
      assert.doesNotMatch(readFileSync(constants, "utf8"), /FROB_MAX/);

      // An edit of the header: a new constant appears in the output.
      writeFileSync(
        header,
        readFileSync(header, "utf8").replace("#endif", "#define FROB_MAX 7\n\n#endif"),
      );
      await until(
        "constants.ts with FROB_MAX",
        () => readFileSync(constants, "utf8").includes("FROB_MAX = 7"),
        child,
      );

      // An edit of the overlay: the reply of FUSE_FROB becomes empty.
      writeFileSync(
        overlay,
        JSON.stringify({
          opcodes: { FUSE_FROB: { request: [{ struct: "frob_in" }], reply: { kind: "empty" } } },
        }),
      );
      await until(
        "messages.ts with the empty FUSE_FROB reply",
        () =>
          /`FUSE_FROB` \(4242\) on success: `fuse_out_header` only/.test(
            readFileSync(messages, "utf8"),
          ),
        child,
      );

      // A broken input is reported and the watch goes on.
      writeFileSync(overlay, "{");
      await until(
        "the error of the broken overlay",
        () => /frob\.overlay\.json: not JSON/.test(err),
        child,
      );
      assert.equal(child.exitCode, null, "still watching");
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, err);
  },
);
