/**
 * fuse-uapi as a typed library (`import … from "@fuse-uapi/generator"`): what the CLI does, step
 * by step, for tools that reuse the schema (generators for other languages, ABI checkers).
 * Parse a header into a schema, prove its layout with a compiler, compute layouts, render the
 * TypeScript, diff two schemas. The CLI (`fuse-uapi`) is built on exactly these.
 */
export { buildSchema, type BuildOptions } from "./schema-builder.js";
export { assertSchema, loadSchemaFile } from "./schema-file.js";
export { loadProtocolTable, type ProtocolTable } from "./protocol.js";
export { layoutRecord, roundUp, typeLayout } from "./layout/layout.js";
export { TARGET_INFO, type TargetInfo } from "./layout/targets.js";
export {
  runCheck,
  CheckError,
  type CheckOptions,
  type CheckResult,
  type FailedFact,
} from "./check/compile.js";
export { renderRevision, writeGenerated, type RenderOptions } from "./render/index.js";
export { diffSchemas, summary, type Change, type ChangeKind, type Severity } from "./diff/index.js";
export { HeaderError, InputError } from "./errors.js";
export { TOOL_VERSION } from "./version.js";
export * from "./model.js";
