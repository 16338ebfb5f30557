/**
 * `fuse-uapi decode`: one captured message from a file or stdin → JSON, using
 * the generated code of a revision; bad input → one line on stderr, exit 2,
 * nothing on stdout.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import * as base from "../generated/base-7.45/index.js";
import * as v6 from "../generated/v6/index.js";
import { repoRoot } from "../generator/revisions/registry.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-decode-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, [CLI, "decode", ...args], {
    input: input ?? new Uint8Array(0),
    cwd: work,
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

/** Exit 2, exactly one line `fuse-uapi: ...` on stderr, nothing on stdout. */
function assertBadInput(
  r: { code: number | null; out: string; err: string },
  pattern: RegExp,
): void {
  assert.equal(r.code, 2, r.err);
  assert.equal(r.out, "");
  assert.match(r.err, /^fuse-uapi: [^\n]+\n$/);
  assert.match(r.err, pattern);
}

const write: base.RequestOf<"FUSE_WRITE"> = {
  op: "FUSE_WRITE",
  opcode: base.FuseOpcode.FUSE_WRITE,
  header: { ...base.zeroFuseInHeader(), unique: 2n ** 63n + 5n, nodeid: 7n, uid: 1000 },
  write_in: { ...base.zeroFuseWriteIn(), fh: 3n, offset: 4096n, size: 5 },
  data: new TextEncoder().encode("hello"),
};

test("a request from a file: JSON with bigints as decimal strings and bytes as hex", () => {
  const r = run(["--request", file("write.bin", base.encodeRequest(write))]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, "");
  const json = JSON.parse(r.out);
  assert.equal(json.op, "FUSE_WRITE");
  assert.equal(json.opcode, 16);
  assert.equal(json.header.unique, "9223372036854775813");
  assert.equal(json.header.len, 40 + base.FuseWriteIn.SIZE + 5);
  assert.equal(json.write_in.offset, "4096");
  assert.equal(json.data, "68656c6c6f");
});

test("a request from stdin (- or no file), at an older minor", () => {
  const bytes = base.encodeRequest(write, { minor: 8 });
  for (const args of [
    ["--request", "--minor", "8", "-"],
    ["--request", "--minor", "8"],
  ]) {
    const r = run(args, bytes);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out);
    assert.equal(json.header.len, 40 + 24 + 5);
    assert.equal(json.data, "68656c6c6f");
  }
  // The same bytes at the default minor (45): the 24-byte fuse_write_in is too short.
  assertBadInput(
    run(["--request"], bytes),
    /stdin: FUSE_WRITE request: write_in \(fuse_write_in\) needs 40 bytes/,
  );
});

test("a reply needs the request's opcode; xattr form; INIT reply to minor 22", () => {
  const init = base.encodeReply(
    9n,
    { init_out: { ...base.zeroFuseInitOut(), major: 7, minor: 45, max_write: 131072 } },
    { opcode: base.FuseOpcode.FUSE_INIT, minor: 22 },
  );
  assert.equal(init.length, 16 + 24);
  const r = run(["--reply", "--opcode", "FUSE_INIT", "--minor", "22", file("init.bin", init)]);
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  assert.equal(json.op, "FUSE_INIT");
  assert.deepEqual(json.header, { len: 40, error: 0, unique: "9" });
  assert.equal(json.reply.init_out.max_write, 131072);
  assert.equal(json.reply.init_out.time_gran, 0);
  assert.ok(
    json.reply.init_out.unused.length > 0 &&
      json.reply.init_out.unused.every((x: number) => x === 0),
    "typed arrays print as arrays",
  );

  const err = base.encodeReply(
    9n,
    { error: -2 },
    { opcode: base.FuseOpcode.FUSE_LOOKUP, minor: 45 },
  );
  assert.deepEqual(JSON.parse(run(["--reply", "--opcode", "lookup"], err).out).reply, {
    error: -2,
    errorName: "ENOENT",
  });
  assert.deepEqual(JSON.parse(run(["--reply", "--opcode", "1"], err).out).header, {
    len: 16,
    error: -2,
    errorName: "ENOENT",
    unique: "9",
  });

  const value = base.encodeReply(
    1n,
    { data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    { opcode: base.FuseOpcode.FUSE_GETXATTR, minor: 45 },
  );
  assert.deepEqual(JSON.parse(run(["--reply", "--opcode", "GETXATTR"], value).out).reply, {
    getxattr_out: { size: 0x04030201, padding: 0x08070605 },
  });
  assert.deepEqual(
    JSON.parse(run(["--reply", "--opcode", "GETXATTR", "--xattr", "data"], value).out).reply,
    { data: "0102030405060708" },
  );
});

test("another revision's generated code, flags, and notifications", () => {
  const op = v6.FuseOpcode.FUSE_COMPOUND;
  const req: v6.RequestOf<"FUSE_COMPOUND"> = {
    op: "FUSE_COMPOUND",
    opcode: op,
    header: v6.zeroFuseInHeader(),
    compound_in: { ...v6.zeroFuseCompoundIn(), result_size: 4096 },
    requests: new Uint8Array([0xab]),
  };
  const r = run(["--request", "--revision", "v6"], v6.encodeRequest(req));
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).compound_in.result_size, 4096);
  // base-7.45 has no FUSE_COMPOUND: an unknown request, its body raw.
  const unknown = JSON.parse(run(["--request"], v6.encodeRequest(req)).out);
  assert.equal(unknown.op, "unknown");
  assert.equal(unknown.opcode, op);
  assert.equal(unknown.body, "00000000" + "00100000" + "00000000" + "00000000" + "ab");

  const setx: base.RequestOf<"FUSE_SETXATTR"> = {
    op: "FUSE_SETXATTR",
    opcode: base.FuseOpcode.FUSE_SETXATTR,
    header: base.zeroFuseInHeader(),
    setxattr_in: { ...base.zeroFuseSetxattrIn(), size: 1, setxattr_flags: 3 },
    name: base.FuseName.from("user.x"),
    value: new Uint8Array([0x7a]),
  };
  const ext = base.encodeRequest(setx, { setxattrExt: true });
  assert.equal(
    JSON.parse(run(["--request", "--flag", "setxattrExt"], ext).out).setxattr_in.setxattr_flags,
    3,
  );

  const n = base.encodeNotify(base.FuseNotifyCode.FUSE_NOTIFY_DELETE, {
    notify_delete_out: { parent: 1n, child: 2n, namelen: 1, padding: 0 },
    name: "f",
  });
  const json = JSON.parse(run(["--notify"], n).out);
  assert.equal(json.name, "FUSE_NOTIFY_DELETE");
  assert.equal(json.args.name, "f");
  assert.equal(json.args.notify_delete_out.child, "2");
});

test("garbage and misuse: exit 2 with one line, nothing on stdout", () => {
  assertBadInput(
    run(["--request"], new TextEncoder().encode("garbage\n")),
    /stdin: request: 8 bytes, shorter than fuse_in_header \(40\)/,
  );
  const bytes = base.encodeRequest(write);
  assertBadInput(
    run(["--request", file("long.bin", new Uint8Array([...bytes, 0]))]),
    /long\.bin: FUSE_WRITE request: fuse_in_header\.len is 85 but the message has 86 bytes/,
  );
  assertBadInput(run(["--request", join(work, "missing.bin")]), /missing\.bin: no such file/);
  assertBadInput(run([], bytes), /exactly one of --request/);
  assertBadInput(run(["--request", "--reply"], bytes), /exactly one of/);
  assertBadInput(run(["--reply"], bytes), /--reply needs --opcode/);
  assertBadInput(run(["--reply", "--opcode", "FUSE_NOPE"], bytes), /unknown opcode 'FUSE_NOPE'/);
  assertBadInput(run(["--reply", "--opcode", "FUSE_FORGET"], bytes), /FUSE_FORGET gets no reply/);
  assertBadInput(
    run(["--request", "--revision", "../etc"], bytes),
    /unknown revision '\.\.\/etc' \(known: base-7\.45, /,
  );
  assertBadInput(run(["--request", "--minor", "x"], bytes), /--minor must be a number/);
  assertBadInput(
    run(["--reply", "--opcode", "LOOKUP", "--xattr", "maybe"], bytes),
    /--xattr must be size or data/,
  );
});

test("INIT flags by name (flags | flags2 << 32), errors by name", () => {
  const flags2 = Number(base.FUSE_OVER_IO_URING >> 32n);
  const init = base.encodeReply(
    9n,
    {
      init_out: {
        ...base.zeroFuseInitOut(),
        major: 7,
        minor: 45,
        flags: base.FUSE_ASYNC_READ | base.FUSE_INIT_EXT,
        flags2: flags2 | 0x80000000,
      },
    },
    { opcode: base.FuseOpcode.FUSE_INIT, minor: 45 },
  );
  const reply = JSON.parse(
    run(["--reply", "--opcode", "FUSE_INIT", file("init-flags.bin", init)]).out,
  );
  // A bit no constant names prints as hex.
  assert.deepEqual(reply.reply.init_out.flagNames, [
    "FUSE_ASYNC_READ",
    "FUSE_INIT_EXT",
    "FUSE_OVER_IO_URING",
    "0x8000000000000000",
  ]);
  const request = base.encodeRequest({
    op: "FUSE_INIT",
    opcode: base.FuseOpcode.FUSE_INIT,
    header: base.zeroFuseInHeader(),
    init_in: {
      ...base.zeroFuseInitIn(),
      major: 7,
      minor: 45,
      flags: base.FUSE_POSIX_LOCKS | base.FUSE_INIT_RESERVED,
    },
  });
  assert.deepEqual(JSON.parse(run(["--request"], request).out).init_in.flagNames, [
    "FUSE_POSIX_LOCKS",
    "FUSE_INIT_RESERVED",
  ]);
  const eacces = base.encodeReply(
    3n,
    { error: -13 },
    { opcode: base.FuseOpcode.FUSE_OPEN, minor: 45 },
  );
  assert.equal(
    JSON.parse(run(["--reply", "--opcode", "OPEN"], eacces).out).header.errorName,
    "EACCES",
  );
});

test("--schema: any schema file, e.g. one with a downstream opcode from a protocol-table overlay", () => {
  const fixtures = join(repoRoot(), "test", "fixtures", "overlay");
  const schemaPath = join(work, "frob.json");
  const cli = spawnSync(
    process.execPath,
    [
      CLI,
      "schema",
      join(fixtures, "frob-fuse.h"),
      "--overlay",
      join(fixtures, "frob.overlay.json"),
      "-o",
      schemaPath,
    ],
    { encoding: "utf8" },
  );
  assert.equal(cli.status, 0, cli.stderr);
  // fuse_in_header (40 bytes) then frob_in { fh, level, padding }, little-endian.
  const bytes = new Uint8Array(56);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 56, true);
  view.setUint32(4, 4242, true);
  view.setBigUint64(8, 7n, true);
  view.setBigUint64(40, 3n, true);
  view.setUint32(48, 2, true);
  const r = run(["--request", "--schema", schemaPath], bytes);
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  assert.equal(json.op, "FUSE_FROB");
  assert.deepEqual(json.frob_in, { fh: "3", level: 2, padding: 0 });
  // A shipped revision's schema file decodes like the revision itself.
  const init = base.encodeReply(
    9n,
    { error: -2 },
    { opcode: base.FuseOpcode.FUSE_LOOKUP, minor: 45 },
  );
  assert.equal(
    run(
      [
        "--reply",
        "--opcode",
        "LOOKUP",
        "--schema",
        join(repoRoot(), "schema", "revisions", "v6.json"),
      ],
      init,
    ).out,
    run(["--reply", "--opcode", "LOOKUP", "--revision", "v6"], init).out,
  );
  assertBadInput(
    run(["--request", "--schema", join(work, "nope.json")], bytes),
    /nope\.json: no such schema file/,
  );
  assertBadInput(
    run(["--request", "--schema", schemaPath, "--revision", "v6"], bytes),
    /--revision or --schema, not both/,
  );
});
