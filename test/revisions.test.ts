/**
 * Revisions = base header + patch mails, applied in memory.
 *
 * Fixture tests use the invented demo-proto header and mails under
 * test/fixtures/revisions/ and always run. Corpus tests read the real FUSE_COMPOUND
 * mails from the shared corpus and skip (saying where they looked) when it is absent.
 */

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gitBlobSha1 } from "../generator/hash.js";
import { PatchError, applyMail, extractUapiDiff } from "../generator/revisions/mail.js";
import {
  CorpusNotFoundError,
  RegistryError,
  RevisionError,
  UnknownRevisionError,
  corpusAvailable,
  corpusDir,
  loadKnownRevisions,
  loadRevisionHeader,
  parseKnownRevisions,
  repoRoot,
} from "../generator/revisions/registry.js";
import { skipOrFail } from "./helpers/skip.js";

const FIXTURES = join(repoRoot(), "test", "fixtures", "revisions");
const FX_CORPUS = join(FIXTURES, "corpus");
const FX_REGISTRY = join(FIXTURES, "known-revisions.json");

const fxText = (rel: string) => readFile(join(FX_CORPUS, rel), "utf8");

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "fuse-uapi-revisions-"));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("gitBlobSha1", () => {
  test("matches git hash-object", () => {
    // Well-known values: the empty blob and "hello\n".
    assert.equal(gitBlobSha1(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    assert.equal(gitBlobSha1("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
    assert.equal(
      gitBlobSha1(new TextEncoder().encode("hello\n")),
      "ce013625030ba8dba906f756967f9e9ca394464a",
    );
  });
});

describe("mail extraction and application (fixtures)", () => {
  test("only the uapi diff is taken, other files and the signature are not", async () => {
    const mail = await fxText("compound/demo-v1-1of2.txt");
    const d = extractUapiDiff(mail, "demo-v1-1of2.txt");
    assert.deepEqual(d.hunks, ["@@ -19,6 +19,9 @@", "@@ -42,6 +45,12 @@"]);
    assert.equal(d.preImage, "b8ad0c4");
    assert.equal(d.postImage, "ff27a8a");
    assert.match(d.diff, /^diff --git a\/include\/uapi\/linux\/fuse\.h /);
    // docs/demo.txt (whose removed line reads "-- ") comes before, tools/ after.
    assert.doesNotMatch(d.diff, /docs\/demo\.txt|demo_send|tools\/|2\.39/);
  });

  test("fixture mails apply in order and match their index lines", async () => {
    const base = await fxText("headers/demo-1.0.h");
    const one = applyMail(base, await fxText("compound/demo-v1-1of2.txt"), "demo-v1-1of2.txt");
    assert.ok(gitBlobSha1(one).startsWith("ff27a8a"));
    assert.match(one, /DEMO_BATCH\t= 4,/);
    const two = applyMail(one, await fxText("compound/demo-v1-2of2.txt"), "demo-v1-2of2.txt");
    assert.equal(two, await fxText("headers/demo-1.1-full.h"));
  });

  test("CRLF mail text applies to an LF header", async () => {
    const base = await fxText("headers/demo-1.0.h");
    const mail = (await fxText("compound/demo-v1-1of2.txt")).replace(/\n/g, "\r\n");
    assert.ok(gitBlobSha1(applyMail(base, mail, "crlf.txt")).startsWith("ff27a8a"));
  });

  test("a hunk whose context does not match fails with PatchError naming the hunk and line", async () => {
    // Change a context line of the second hunk in the base.
    const base = (await fxText("headers/demo-1.0.h")).replace(
      "struct demo_reply {",
      "struct demo_answer {",
    );
    const mail = await fxText("compound/demo-v1-1of2.txt");
    assert.throws(
      () => applyMail(base, mail, "demo-v1-1of2.txt"),
      (e: unknown) => {
        assert.ok(e instanceof PatchError);
        assert.equal(e.reason, "hunk");
        assert.equal(e.mailFile, "demo-v1-1of2.txt");
        assert.equal(e.hunk, "@@ -42,6 +45,12 @@");
        assert.equal(e.baseLine, 45);
        assert.match(e.message, /demo-v1-1of2\.txt/);
        assert.match(e.message, /@@ -42,6 \+45,12 @@/);
        assert.match(e.message, /base line 45 is "struct demo_answer \{"/);
        assert.match(e.message, /made against blob b8ad0c4/);
        return true;
      },
    );
  });

  test("a removed line that is not in the base fails too (no fuzz)", async () => {
    const one = applyMail(
      await fxText("headers/demo-1.0.h"),
      await fxText("compound/demo-v1-1of2.txt"),
      "1of2",
    );
    const broken = one.replace("#define DEMO_PROTO_MINOR 0", "#define DEMO_PROTO_MINOR 7");
    const two = await fxText("compound/demo-v1-2of2.txt");
    assert.throws(
      () => applyMail(broken, two, "demo-v1-2of2.txt"),
      (e: unknown) =>
        e instanceof PatchError &&
        e.hunk === "@@ -12,7 +12,7 @@" &&
        /DEMO_PROTO_MINOR 7/.test(e.message),
    );
  });

  test("a result that differs from the index post-image fails with PatchError", async () => {
    const base = await fxText("headers/demo-1.0.h");
    const mail = (await fxText("compound/demo-v1-1of2.txt")).replace(
      "index b8ad0c4..ff27a8a",
      "index b8ad0c4..0123abc",
    );
    assert.throws(
      () => applyMail(base, mail, "tampered.txt"),
      (e: unknown) =>
        e instanceof PatchError &&
        e.reason === "blob" &&
        /tampered\.txt/.test(e.message) &&
        /ff27a8a9582c/.test(e.message) &&
        /0123abc/.test(e.message),
    );
  });

  test("a mail without a uapi diff, or transfer-encoded, is refused clearly", async () => {
    const mail = await fxText("compound/demo-v1-1of2.txt");
    const noUapi = mail.replaceAll("include/uapi/linux/fuse.h", "include/other.h");
    assert.throws(
      () => applyMail("", noUapi, "x.txt"),
      (e: unknown) => e instanceof PatchError && e.reason === "no-diff",
    );
    const qp = mail.replace("Subject:", "Content-Transfer-Encoding: quoted-printable\nSubject:");
    assert.throws(
      () => applyMail("", qp, "qp.txt"),
      (e: unknown) => e instanceof PatchError && e.reason === "encoding",
    );
  });
});

describe("registry (fixtures)", () => {
  test("fixture revisions load by data alone", async () => {
    const names = (await loadKnownRevisions(FX_REGISTRY)).map((r) => r.name);
    assert.deepEqual(names, ["demo-1.0", "demo-v1", "demo-v1-full"]);

    const v1 = await loadRevisionHeader("demo-v1", FX_CORPUS, FX_REGISTRY);
    assert.equal(v1.file, "demo-1.0.h");
    assert.deepEqual(
      v1.patches.map((p) => p.file),
      ["demo-v1-1of2.txt", "demo-v1-2of2.txt"],
    );
    for (const p of v1.patches) assert.match(p.sha256, /^[0-9a-f]{64}$/);
    assert.equal(v1.gitBlob, "64586c2172ebd64d84a06c874fbc1041218c1f40");

    const full = await loadRevisionHeader("demo-v1-full", FX_CORPUS, FX_REGISTRY);
    assert.equal(full.file, "demo-1.1-full.h");
    assert.deepEqual(full.patches, []);
    assert.equal(full.text, v1.text);
    assert.equal(full.sha256, v1.sha256);

    const base = await loadRevisionHeader("demo-1.0", FX_CORPUS, FX_REGISTRY);
    assert.equal(base.text, await fxText("headers/demo-1.0.h"));
  });

  test("a new revision is one more JSON entry", async () => {
    const data = JSON.parse(await readFile(FX_REGISTRY, "utf8"));
    data.revisions.push({
      name: "demo-v1-part1",
      title: "only the first mail",
      date: "2025-03-02",
      base: data.revisions[0].base,
      mails: ["demo-v1-1of2.txt"],
      expectedBlob: "ff27a8a",
    });
    const reg = join(tmp, "added.json");
    await writeFile(reg, JSON.stringify(data));
    const r = await loadRevisionHeader("demo-v1-part1", FX_CORPUS, reg);
    assert.ok(r.gitBlob.startsWith("ff27a8a"));
    assert.deepEqual(
      r.patches.map((p) => p.file),
      ["demo-v1-1of2.txt"],
    );
  });

  test("unknown names, bad pins and bad data give typed errors", async () => {
    await assert.rejects(loadRevisionHeader("demo-v9", FX_CORPUS, FX_REGISTRY), (e: unknown) => {
      assert.ok(e instanceof UnknownRevisionError);
      assert.deepEqual(e.known, ["demo-1.0", "demo-v1", "demo-v1-full"]);
      assert.match(e.message, /"demo-v9".*demo-1\.0, demo-v1, demo-v1-full/);
      return true;
    });

    const data = JSON.parse(await readFile(FX_REGISTRY, "utf8"));
    data.revisions[1].base = { ...data.revisions[1].base, sha256: "0".repeat(64) };
    data.revisions[2].expectedBlob = "deadbeef";
    const reg = join(tmp, "pins.json");
    await writeFile(reg, JSON.stringify(data));
    await assert.rejects(
      loadRevisionHeader("demo-v1", FX_CORPUS, reg),
      (e: unknown) =>
        e instanceof RevisionError &&
        e.code === "checksum" &&
        /headers\/demo-1\.0\.h/.test(e.message),
    );
    await assert.rejects(
      loadRevisionHeader("demo-v1-full", FX_CORPUS, reg),
      (e: unknown) => e instanceof RevisionError && e.code === "blob" && /deadbeef/.test(e.message),
    );

    assert.throws(
      () =>
        parseKnownRevisions(
          {
            revisions: [
              {
                name: "a",
                title: "t",
                date: "2026-02-30",
                base: { path: "../x.h", sha256: "ab" },
                mails: ["m.txt"],
                header: { path: "h.h", sha256: "0".repeat(64) },
              },
              {
                name: "a",
                title: "t",
                date: "2026-02-01",
                base: { path: "x.h", sha256: "0".repeat(64) },
                mails: [],
                extra: 1,
              },
            ],
          },
          "bad.json",
        ),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        const joined = e.problems.join("\n");
        for (const needle of [
          "date",
          "base.path",
          "base.sha256",
          "both mails and a full header",
          "duplicate name",
          "extra: unknown property",
        ]) {
          assert.ok(joined.includes(needle), `missing problem about ${needle} in:\n${joined}`);
        }
        assert.match(e.message, /^bad\.json is not a valid revision registry/);
        return true;
      },
    );
    const badJson = join(tmp, "broken.json");
    await writeFile(badJson, "{ not json");
    await assert.rejects(
      loadKnownRevisions(badJson),
      (e: unknown) => e instanceof RegistryError && /not valid JSON/.test(e.message),
    );
  });

  test("the project registry is valid and lists the compound series", async () => {
    const names = (await loadKnownRevisions()).map((r) => r.name);
    assert.deepEqual(names, ["base-7.45", "rfc-v1", "rfc-v2", "rfc-v3", "v4", "v5", "v6", "v7"]);
  });
});

describe("missing corpus", () => {
  test("FUSE_UAPI_CORPUS pointing at an empty directory is reported clearly", async () => {
    const empty = await mkdtemp(join(tmp, "empty-corpus-"));
    const saved = process.env.FUSE_UAPI_CORPUS;
    process.env.FUSE_UAPI_CORPUS = empty;
    try {
      assert.equal(corpusDir(), empty);
      assert.equal(corpusAvailable(), false);
      await assert.rejects(loadRevisionHeader("v6"), (e: unknown) => {
        assert.ok(e instanceof CorpusNotFoundError);
        assert.equal(e.corpus, empty);
        assert.match(e.message, /corpus not found at .*empty-corpus-/);
        assert.match(e.message, /FUSE_UAPI_CORPUS/);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.FUSE_UAPI_CORPUS;
      else process.env.FUSE_UAPI_CORPUS = saved;
    }
  });
});

describe("FUSE_COMPOUND revisions (corpus)", () => {
  const corpus = corpusDir();
  const skipMsg = `corpus not found at ${corpus}`;
  const FULL_V1 = "headers/compound/kernel-uapi-fuse.h-7.45+compound-patch-v1-rfc-20251223.h";
  const FULL_V6 = "headers/compound/kernel-uapi-fuse.h-7.45+compound-patch-v6-20260226.h";

  test("every known revision loads and verifies", async (t) => {
    if (!corpusAvailable(corpus)) return skipOrFail(t, skipMsg);
    for (const r of await loadKnownRevisions()) {
      const h = await loadRevisionHeader(r.name, corpus);
      assert.equal(h.name, r.name);
      assert.equal(h.patches.length, r.mails.length);
      if (r.expectedBlob) assert.ok(h.gitBlob.startsWith(r.expectedBlob), r.name);
    }
  });

  test("rfc-v1 and v6 equal the corpus's rebuilt headers byte for byte", async (t) => {
    if (!corpusAvailable(corpus)) return skipOrFail(t, skipMsg);
    const v1 = await loadRevisionHeader("rfc-v1", corpus);
    assert.equal(v1.file, "fuse-7.45.h");
    assert.deepEqual(
      v1.patches.map((p) => p.file),
      ["rfc-v1-1of2.txt"],
    );
    assert.ok(Buffer.from(v1.text).equals(await readFile(join(corpus, FULL_V1))));
    const v6 = await loadRevisionHeader("v6", corpus);
    assert.ok(Buffer.from(v6.text).equals(await readFile(join(corpus, FULL_V6))));
  });

  test("the three RFCs share one uapi; v4 moves the opcode to 54", async (t) => {
    if (!corpusAvailable(corpus)) return skipOrFail(t, skipMsg);
    const [v1, v2, v3, v4] = await Promise.all(
      ["rfc-v1", "rfc-v2", "rfc-v3", "v4"].map((n) => loadRevisionHeader(n, corpus)),
    );
    assert.equal(v2.text, v1.text);
    assert.equal(v3.text, v1.text);
    assert.match(v1.text, /^\tFUSE_COMPOUND\s*=\s*101,$/m);
    assert.match(v4.text, /^\tFUSE_COMPOUND\s*=\s*54,$/m);
    assert.notEqual(v4.sha256, v1.sha256);
  });

  test("v5 comes from its full header", async (t) => {
    if (!corpusAvailable(corpus)) return skipOrFail(t, skipMsg);
    const v5 = await loadRevisionHeader("v5", corpus);
    assert.deepEqual(v5.patches, []);
    assert.equal(v5.gitBlob, "113583c4efb67268174dbe4f68e9ea1c21b45eb6");
  });

  test("a corpus mail applied to the wrong base names its hunk", async (t) => {
    if (!corpusAvailable(corpus)) return skipOrFail(t, skipMsg);
    const oldBase = await readFile(join(corpus, "headers/kernel/fuse-7.44.h"), "utf8");
    const mail = await readFile(join(corpus, "compound/v6-1of3.txt"), "utf8");
    assert.throws(
      () => applyMail(oldBase, mail, "v6-1of3.txt"),
      (e: unknown) =>
        e instanceof PatchError && /v6-1of3\.txt: hunk @@ -\d+,\d+ \+\d+,\d+ @@/.test(e.message),
    );
  });
});
