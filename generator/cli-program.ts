/**
 * The `fuse-uapi` command line: each subcommand lives in generator/commands/;
 * this module only declares arguments and options (commander). It is separate
 * from cli.ts, which runs it, so tests can read the declared options (the
 * README's CLI table must list every one).
 */
import { Command } from "commander";
import { checkCommand } from "./commands/check.js";
import {
  compoundDecodeCommand,
  type CompoundDecodeOptions,
  compoundEncodeCommand,
  OPS_JSON_HELP,
} from "./commands/compound.js";
import { decodeCommand, type DecodeCommandOptions } from "./commands/decode.js";
import { diffCommand, type DiffCommandOptions } from "./commands/diff.js";
import type { MigrateCommandOptions } from "./commands/migrate.js";
import { generateCommand, type GenerateCommandOptions } from "./commands/generate.js";
import { layoutCommand } from "./commands/layout.js";
import { reportCommand } from "./commands/report.js";
import { revisionsCommand } from "./commands/revisions.js";
import { schemaCommand, type SchemaCommandOptions } from "./commands/schema.js";
import { TOOL_VERSION } from "./version.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function program(): Command {
  const cli = new Command("fuse-uapi")
    .description(
      "Typed, verified TypeScript from the Linux FUSE uapi header (include/uapi/linux/fuse.h)",
    )
    .version(TOOL_VERSION)
    .showHelpAfterError()
    .exitOverride();

  cli
    .command("schema")
    .description("parse a header (with patch mails applied in order) into schema JSON")
    .argument("<header.h>", "FUSE header")
    .option(
      "--patch <mail>",
      "patch mail whose include/uapi/linux/fuse.h hunks to apply (repeatable)",
      collect,
      [],
    )
    .option("--name <revision>", "revision name to record in the schema")
    .option("-o, --output <file>", "write here (atomically) instead of stdout")
    .option(
      "--overlay <file>",
      "protocol-table overlay merged over schema/protocol.json (repeatable, in order)",
      collect,
      [],
    )
    .option(
      "--raw-unknown-opcodes",
      "raw-byte codecs, with a warning, for opcodes the protocol table does not describe (default: an error naming them)",
    )
    .action(async (header: string, o: SchemaCommandOptions) => {
      await schemaCommand(header, o);
    });

  cli
    .command("generate")
    .description(
      "render TypeScript from schemas or headers; with no argument, as fuse-uapi.config.json (current folder, or --config) says",
    )
    .argument(
      "[schema.json|header.h...]",
      "schema files, or headers to parse on the way (default: the config file's inputs)",
    )
    .option(
      "-o, --output <dir>",
      "output folder, one subfolder per revision (default: the config's output; ./generated with arguments)",
    )
    .option("--config <file>", "the config file (default: ./fuse-uapi.config.json)")
    .option(
      "--overlay <file>",
      "protocol-table overlay, after the config's (repeatable, in order)",
      collect,
      [],
    )
    .option(
      "--raw-unknown-opcodes",
      "raw-byte codecs, with a warning, for opcodes the protocol table does not describe (default: an error naming them)",
    )
    .option(
      "--check",
      "write nothing; list missing, stale and extra files and exit 1 when the output is not what generate would write",
    )
    .option(
      "--watch",
      "generate, then again whenever an input, overlay, the config, a template or the runtime changes (Ctrl-C stops)",
    )
    .action(async (inputs: string[], o: GenerateCommandOptions) => {
      process.exitCode = await generateCommand(inputs, o);
    });

  cli
    .command("check")
    .description("prove a header's schema with _Static_asserts compiled by a real C compiler")
    .argument("<header.h>", "FUSE header")
    .option(
      "--target <target>",
      "x86_64, i386, aarch64 or all (repeatable; default all)",
      collect,
      [],
    )
    .option("--cc <command>", "host C compiler instead of cc")
    .option("--patch <mail>", "patch mail to apply first (repeatable)", collect, [])
    .option("--emit-c <dir>", "also write the C file of each target to <dir>/check-<target>.c")
    .action(
      async (
        header: string,
        o: { target: string[]; cc?: string; patch: string[]; emitC?: string },
      ) => {
        process.exitCode = await checkCommand(header, o);
      },
    );

  cli
    .command("revisions")
    .description("list the known revisions (schema/known-revisions.json)")
    .option("--extract", "rebuild schema/revisions/*.json from the corpus")
    .option("--json", "print the list as JSON")
    .action(async (o: { extract?: boolean; json?: boolean }) => {
      await revisionsCommand(o);
    });

  cli
    .command("diff")
    .description(
      "ABI changes between two schemas (files or revision names), each breaking or compatible, and the changes of the generated TypeScript API",
    )
    .argument(
      "[a]",
      "older schema: a .json file or a revision name (schema/revisions/<name>.json, generated/<name>/)",
    )
    .argument("[b]", "newer schema, likewise")
    .option("--format <format>", "text, md or json (default: text; md with --all-consecutive)")
    .option(
      "--all-consecutive",
      "diff every consecutive pair of known revisions, C ABI only (regenerates docs/revisions.md with -o)",
    )
    .option("--no-ts", "leave out the TypeScript API diff (C ABI only, faster)")
    .option(
      "--fail-on <severity>",
      "exit 1 when a change is breaking (breaking), when there is any change (compatible), or never (none, the default)",
    )
    .option("-o, --output <file>", "write here (atomically) instead of stdout")
    .action(async (a: string | undefined, b: string | undefined, o: DiffCommandOptions) => {
      process.exitCode = await diffCommand(
        [a, b].filter((x): x is string => x !== undefined),
        o,
      );
    });

  cli
    .command("migrate")
    .description(
      "rewrite a TypeScript project's imports of one revision's generated API to another's; list what cannot be fixed",
    )
    .argument("[tsconfig]", "the project's tsconfig.json (default: ./tsconfig.json)")
    .requiredOption(
      "--from <revision>",
      "the revision the project imports now: a name (generated/<name>/) or a schema .json file",
    )
    .requiredOption("--to <revision>", "the revision to move to, likewise")
    .option("--project <tsconfig>", "the project's tsconfig.json (same as the argument)")
    .option("--write", "apply the plan (default: print it and change nothing)")
    .option("--format <format>", "text or json (default: text)")
    .action(async (tsconfig: string | undefined, o: MigrateCommandOptions) => {
      // Loaded on demand: ts-morph brings its own TypeScript, which no other command needs.
      const { migrateCommand } = await import("./commands/migrate.js");
      process.exitCode = await migrateCommand(tsconfig, o);
    });

  cli
    .command("layout")
    .description(
      "pahole-style struct layouts (offsets, sizes, holes, totals) per target, from a revision or schema file",
    )
    .argument("<schema>", "a revision name (schema/revisions/<name>.json) or a schema .json file")
    .argument("[struct...]", "structs to show (default: all, in header order)")
    .option(
      "--target <target>",
      "x86_64, i386, aarch64 or all (repeatable; default all; identical layouts share a block)",
      collect,
      [],
    )
    .action((schema: string, structs: string[], o: { target: string[] }) => {
      layoutCommand(schema, structs, o);
    });

  cli
    .command("report")
    .description(
      "static HTML ABI report: byte maps of every struct per target, and each consecutive diff",
    )
    .argument(
      "[schema...]",
      "revision names or schema files, oldest first (default: every known revision)",
    )
    .requiredOption("-o, --output <dir>", "folder to write index.html and pages/ into")
    .action(async (schemas: string[], o: { output: string }) => {
      await reportCommand(schemas, o);
    });

  cli
    .command("decode")
    .description(
      "decode one captured FUSE message (binary) with a revision's generated codecs; print JSON",
    )
    .argument("[file]", "message file, or - (default) for stdin")
    .option(
      "--revision <name>",
      "revision whose generated/<name>/messages.js decodes (default: the newest plain header of the registry)",
    )
    .option(
      "--schema <file>",
      "decode with the codecs rendered from this schema file instead (any schema with a protocol section)",
    )
    .option(
      "--minor <n>",
      "negotiated minor version (default: the revision's FUSE_KERNEL_MINOR_VERSION)",
    )
    .option("--request", "the message is a request (fuse_in_header ...)")
    .option("--reply", "the message is a reply (fuse_out_header ...) to a request of --opcode")
    .option("--notify", "the message is a notification (unique 0)")
    .option(
      "--opcode <op>",
      "the request's opcode for --reply: C name (FUSE_LOOKUP, LOOKUP) or number",
    )
    .option("--xattr <form>", "form of an xattr reply: size or data (default: by length)")
    .option(
      "--flag <option>",
      "INIT flag negotiated, as its option name, e.g. setxattrExt (repeatable)",
      collect,
      [],
    )
    .option("--big-endian", "the message is big-endian (default little-endian)")
    .action(async (file: string | undefined, o: DecodeCommandOptions) => {
      await decodeCommand(file, o);
    });

  const compound = cli
    .command("compound")
    .description("build and read FUSE_COMPOUND messages with a revision's generated compound.js");
  compound
    .command("encode")
    .description("build a compound request from ops.json; write its bytes to stdout")
    .argument("<ops.json>", "the compound to build (format below)")
    .requiredOption(
      "--revision <name>",
      "revision with FUSE_COMPOUND (generated/<name>/compound.js)",
    )
    .option(
      "--minor <n>",
      "negotiated minor version (default: ops.json's minor, else the revision's)",
    )
    .addHelpText("after", OPS_JSON_HELP)
    .action(async (ops: string, o: { revision: string; minor?: string }) => {
      await compoundEncodeCommand(ops, o);
    });
  compound
    .command("decode")
    .description(
      "decode a compound request, or walk a compound reply as the revision's kernel does; print JSON",
    )
    .argument("[file]", "message file, or - (default) for stdin")
    .requiredOption(
      "--revision <name>",
      "revision with FUSE_COMPOUND (generated/<name>/compound.js)",
    )
    .option("--request", "the message is a compound request")
    .option("--reply", "the message is a compound reply to the ops given by --ops")
    .option(
      "--ops <ops>",
      "the compound's ops: an ops.json file, or opcode names separated by commas (FUSE_OPEN,FUSE_GETATTR)",
    )
    .option(
      "--capacity <n>",
      "the caller's capacity where the revision bounds the walk by it (default: the number of ops)",
    )
    .option(
      "--minor <n>",
      "negotiated minor version (default: the revision's FUSE_KERNEL_MINOR_VERSION)",
    )
    .action(async (file: string | undefined, o: CompoundDecodeOptions) => {
      await compoundDecodeCommand(file, o);
    });

  return cli;
}
