/**
 * Downstream packages import the generated code through package.json
 * "exports" (`fuse-uapi/revisions/<name>`). Node resolves a package's own name
 * from inside it, so this test imports exactly what a dependent would.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../generator/revisions/registry.js";

test("every generated revision is importable as fuse-uapi/revisions/<name>", async () => {
  const names = readdirSync(join(repoRoot(), "generated")).filter(
    (n) => !n.startsWith(".") && !n.startsWith("_"),
  );
  assert.ok(names.length >= 7, `expected the 7 shipped revisions, found ${names.join(", ")}`);
  for (const name of names) {
    const mod = (await import(`fuse-uapi/revisions/${name}`)) as Record<string, unknown>;
    assert.equal(typeof mod.decodeFuseInHeader, "function", `${name} exports decodeFuseInHeader`);
    assert.equal(typeof mod.FuseOpcode, "object", `${name} exports FuseOpcode`);
  }
});

test("the exported codecs work on real bytes: a fuse_in_header round-trips", async () => {
  const g =
    (await import("fuse-uapi/revisions/base-7.45")) as typeof import("../generated/base-7.45/index.js");
  const header = {
    ...g.zeroFuseInHeader(),
    len: 40,
    opcode: g.FuseOpcode.FUSE_GETATTR,
    unique: 7n,
    nodeid: 1n,
    uid: 1000,
    gid: 1000,
    pid: 42,
  };
  const bytes = new Uint8Array(g.FuseInHeader.SIZE);
  g.encodeFuseInHeader(header, bytes);
  assert.deepEqual(g.decodeFuseInHeader(bytes), header);
  // Little-endian on the wire of this machine: len is the first u32.
  assert.deepEqual([...bytes.subarray(0, 4)], [40, 0, 0, 0]);
});

test("the schemas are exported as JSON", async () => {
  const mod = (await import("fuse-uapi/schemas/v6.json", { with: { type: "json" } })) as {
    default: { source: { revision: string } };
  };
  assert.equal(mod.default.source.revision, "v6");
});
