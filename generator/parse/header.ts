/**
 * Walks the tree-sitter syntax tree of a FUSE header the way a Linux userspace
 * compile sees it: preprocessor conditionals are decided as the compiler would
 * (`__KERNEL__` undefined, `__linux__` defined), `#define`/`#undef` are applied in
 * order, and structs, enums and typedefs are collected with their layout.
 */
import type { Node } from "web-tree-sitter";
import { EvalError, evaluateText, type MacroEntry } from "../cexpr/evaluate.js";
import { type Token, TokenizeError, tokenize } from "../cexpr/tokens.js";
import { HeaderError } from "../errors.js";
import { LayoutError, layoutRecord } from "../layout/layout.js";
import { TARGET_INFO } from "../layout/targets.js";
import {
  type EnumDef,
  type EnumMember,
  type Field,
  type IncludeDef,
  type MacroDef,
  PRIMARY_TARGET,
  type SourcePos,
  type StructDef,
  TARGETS,
  type TypedefDef,
  type TypeRef,
} from "../model.js";
import { planChunks } from "./chunks.js";
import { commentText, docFor, joinDocs } from "./comments.js";
import { typeText } from "./ctype.js";
import { DeclScope } from "./scope.js";
import { fieldKids, kids, named } from "./nodes.js";
import { cParser } from "./tree-sitter.js";

/**
 * Deepest nesting of struct/union definitions and of declarator layers (`*`,
 * `[n]`, parentheses) accepted. Both build types that later stages (layout,
 * lint, render) walk recursively; 256 is 4x C's minimum limits (C11 5.2.4.1)
 * and far from exhausting the stack. Deeper input is a HeaderError.
 */
export const MAX_NESTING = 256;

/** An object-like macro the header defines, before evaluation. */
export interface RawConstant {
  name: string;
  body: string;
  doc?: string;
  pos: SourcePos;
}

export interface ParsedHeader {
  scope: DeclScope;
  includes: IncludeDef[];
  /** In the order their definitions complete (dependencies first). */
  structs: StructDef[];
  enums: EnumDef[];
  typedefs: TypedefDef[];
  /** Object-like macros still defined at the end of the header, in definition order. */
  constants: RawConstant[];
  macros: MacroDef[];
}

/**
 * Parse and walk a header. A big header is parsed in chunks (see chunks.ts),
 * each tree freed before the next, so memory and time grow linearly with the
 * header; a header of up to CHUNK_SIZE characters is parsed whole. Each chunk
 * is checked for syntax errors before it is walked, so in a chunked header an
 * error the walker finds (an unknown type, say) in an earlier chunk is
 * reported before a syntax error in a later one.
 */
export async function parseHeader(
  text: string,
  file: string,
  opts: { chunkSize?: number } = {},
): Promise<ParsedHeader> {
  const parser = await cParser();
  const walker = new HeaderWalker(file);
  for (const ranges of planChunks(text, opts.chunkSize) ?? [null]) {
    const tree = ranges ? parser.parse(text, null, { includedRanges: ranges }) : parser.parse(text);
    if (!tree) throw new HeaderError(file, 1, 1, "tree-sitter could not parse the file");
    try {
      const bad = firstError(tree.rootNode);
      if (bad) {
        const what = bad.isMissing
          ? `syntax error: missing '${bad.type}'`
          : `syntax error near '${snippet(bad.text)}'`;
        throw new HeaderError(file, bad.startPosition.row + 1, bad.startPosition.column + 1, what);
      }
      walker.walkItems(tree.rootNode);
    } finally {
      tree.delete();
    }
  }
  return walker.result();
}

/**
 * The first error in document order. A loop, not recursion: the path to an
 * error can be as deep as the text's nesting (thousands of parentheses).
 */
function firstError(node: Node): Node | undefined {
  let at = node;
  for (;;) {
    if (at.isMissing) return at;
    if (at.type === "ERROR") return culprit(at);
    if (!at.hasError) return undefined; // only the root can get here: we descend into errors only
    // The first child that is or holds an error; a node whose error is in none of its children is the error.
    const next = kids(at).find((c) => c.isMissing || c.type === "ERROR" || c.hasError);
    if (!next) return at;
    at = next;
  }
}

/**
 * tree-sitter may wrap complete, valid constructs into an ERROR node together
 * with the stray token that broke them (`struct s {...} }`): point at the
 * first child that is not such a complete construct.
 */
function culprit(error: Node): Node {
  for (const c of kids(error)) {
    if (c.type === "ERROR" || c.isMissing || c.hasError) return firstError(c) ?? c;
    if (!c.isNamed || c.type === "identifier") return c;
  }
  return error;
}

function snippet(s: string): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > 40 ? one.slice(0, 37) + "..." : one;
}

function posOf(node: Node): SourcePos {
  return { line: node.startPosition.row + 1, column: node.startPosition.column + 1 };
}

/**
 * An item with its place among its siblings (all children of its parent,
 * tokens included), which decides its doc comments. Carried along instead of
 * asking tree-sitter for `node.parent`, which costs time linear in the
 * parent's child count on every call.
 */
interface At {
  node: Node;
  siblings: readonly Node[];
  index: number;
}

/** Which children of a container are items: all of the root's, the named ones of a body or a conditional's branch. */
type ItemFilter = "all" | "named" | "branch";

/** Indexes of the items among `siblings` (the children of `container`). */
function itemIndexes(container: Node, siblings: readonly Node[], filter: ItemFilter): number[] {
  const out: number[] = [];
  for (let i = 0; i < siblings.length; i++) {
    if (filter === "all") out.push(i);
    else if (siblings[i]!.isNamed) {
      // A branch's own parts are not items: the macro name, the condition, the next branch.
      const field = filter === "branch" ? container.fieldNameForChild(i) : null;
      if (field !== "name" && field !== "condition" && field !== "alternative") out.push(i);
    }
  }
  return out;
}

const TOP_LEVEL_CONDITIONALS = new Set([
  "preproc_ifdef",
  "preproc_if",
  "preproc_elif",
  "preproc_elifdef",
  "preproc_else",
]);

function isTopLevelConditional(node: Node): boolean {
  return TOP_LEVEL_CONDITIONALS.has(node.type);
}

function isBodyConditional(node: Node): boolean {
  return node.type.startsWith("preproc_if") || node.type === "preproc_ifdef";
}

/**
 * One #define: what the evaluator expands (MacroEntry) and what the schema
 * records (RawConstant), in one object, since a big header has a million of
 * them. Tokenized on each use, not kept: the tokens of every #define would
 * cost more memory than the rest of the schema, and most are never expanded
 * by another (tokenizing is cheap next to evaluating).
 */
class HeaderMacro implements MacroEntry, RawConstant {
  constructor(
    readonly name: string,
    readonly params: string[] | null,
    /** The value as written (comments included), what gets tokenized. */
    private readonly text: string,
    /** The value without comments, whitespace folded. */
    readonly body: string,
    readonly doc: string | undefined,
    readonly pos: SourcePos,
  ) {}
  get tokens(): Token[] {
    return tokenize(this.text);
  }
}

class HeaderWalker {
  readonly scope = new DeclScope();
  private readonly includes: IncludeDef[] = [];
  private readonly structs: StructDef[] = [];
  private readonly enums: EnumDef[] = [];
  /** By name, in definition order (a Map: replacing one must not scan the list). */
  private readonly typedefs = new Map<string, TypedefDef>();
  /** Every #define of the header still in force, by name (insertion order = definition order). */
  private readonly defines = new Map<string, HeaderMacro>();
  /** struct/union bodies open around the current item. */
  private recordDepth = 0;
  /**
   * Decisions of conditionals already walked: start offset of the conditional
   * -> start offset of the branch taken (-1: none). A chunked header repeats a
   * conditional's directive lines in every chunk inside it; it is evaluated
   * once, where it starts, as the preprocessor does.
   */
  private readonly decided = new Map<number, number>();

  constructor(private readonly file: string) {}

  private error(node: Node, message: string): HeaderError {
    const p = posOf(node);
    return new HeaderError(this.file, p.line, p.column, message);
  }

  result(): ParsedHeader {
    const constants: RawConstant[] = [];
    const macros: MacroDef[] = [];
    for (const d of this.defines.values()) {
      if (d.params)
        macros.push({
          name: d.name,
          params: d.params,
          body: d.body,
          ...(d.doc ? { doc: d.doc } : {}),
          pos: d.pos,
        });
      else if (d.body !== "" && !this.scope.typedefs.has(d.name)) constants.push(d);
    }
    return {
      scope: this.scope,
      includes: this.includes,
      structs: this.structs,
      enums: this.enums,
      typedefs: [...this.typedefs.values()],
      constants,
      macros,
    };
  }

  /** Process the items of a tree's root, descending into the taken branch of conditionals. */
  walkItems(root: Node): void {
    for (const at of this.taken(root, "all", isTopLevelConditional)) this.walkItem(at);
  }

  /**
   * The items of `container` in order with every conditional replaced by the
   * items of the branch it takes, however deeply conditionals nest (an
   * explicit stack, not recursion). Lazy: a condition is evaluated only when
   * reached, so it sees the #defines before it.
   */
  private *taken(
    container: Node,
    filter: ItemFilter,
    isConditional: (n: Node) => boolean,
  ): Generator<At> {
    const open = (node: Node, f: ItemFilter) => {
      const siblings = kids(node);
      return { siblings, items: itemIndexes(node, siblings, f), next: 0 };
    };
    const stack = [open(container, filter)];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.items.length) {
        stack.pop();
        continue;
      }
      const index = top.items[top.next++]!;
      const node = top.siblings[index]!;
      if (isConditional(node)) {
        const branch = this.takenBranch(node);
        if (branch) stack.push(open(branch, "branch"));
      } else yield { node, siblings: top.siblings, index };
    }
  }

  private walkItem(at: At): void {
    const node = at.node;
    switch (node.type) {
      case "preproc_def":
      case "preproc_function_def":
        this.define(at);
        return;
      case "preproc_call":
        this.directive(node);
        return;
      case "preproc_include": {
        const path = node.childForFieldName("path");
        if (path)
          this.includes.push({
            path: path.text.replace(/^[<"]|[>"]$/g, ""),
            system: path.type === "system_lib_string",
            pos: posOf(node),
          });
        return;
      }
      case "struct_specifier":
      case "union_specifier":
        this.recordSpecifier(node, at);
        return;
      case "enum_specifier":
        this.enumSpecifier(node, at);
        return;
      case "type_definition":
        this.typeDefinition(at);
        return;
      case "declaration": {
        // `struct x {...} var;`: keep the type, variables are not part of an ABI header.
        const type = node.childForFieldName("type");
        if (type?.type === "struct_specifier" || type?.type === "union_specifier")
          this.recordSpecifier(type, at);
        else if (type?.type === "enum_specifier") this.enumSpecifier(type, at);
        return;
      }
      default:
        return; // comments, function prototypes, stray semicolons
    }
  }

  /**
   * The branch a conditional takes (null when none does): the conditional
   * itself or one of its `#elif`/`#else` alternatives, whose items are its
   * named children. An `#elif` chain is a chain of nested alternatives:
   * followed in a loop.
   */
  private takenBranch(conditional: Node): Node | null {
    const known = this.decided.get(conditional.startIndex);
    if (known !== undefined) {
      for (
        let node: Node | null = conditional;
        node && known >= 0;
        node = node.childForFieldName("alternative")
      ) {
        if (node.startIndex === known) return node;
      }
      return null;
    }
    const branch = this.decide(conditional);
    this.decided.set(conditional.startIndex, branch ? branch.startIndex : -1);
    return branch;
  }

  private decide(conditional: Node): Node | null {
    for (let node: Node | null = conditional; node; node = node.childForFieldName("alternative")) {
      if (node.type === "preproc_else") return node;
      let taken: boolean;
      const first = node.child(0)!.type;
      if (node.type === "preproc_ifdef" || node.type === "preproc_elifdef") {
        const name = node.childForFieldName("name");
        if (!name) throw this.error(node, `${first} needs a macro name`);
        const defined = this.scope.macros.has(name.text);
        taken = first.endsWith("ndef") ? !defined : defined;
      } else {
        const cond = node.childForFieldName("condition");
        if (!cond) throw this.error(node, `${first} needs a condition`);
        try {
          taken = evaluateText(cond.text, this.scope.env(PRIMARY_TARGET), { inIf: true }).v !== 0n;
        } catch (e) {
          throw this.error(cond, `cannot evaluate ${first} condition: ${(e as Error).message}`);
        }
      }
      if (taken) return node;
    }
    return null;
  }

  private define(at: At): void {
    const node = at.node;
    const name = node.childForFieldName("name")!.text;
    const valueNode = node.childForFieldName("value");
    const raw = valueNode?.text ?? "";
    const paramsNode = node.childForFieldName("parameters");
    const params = paramsNode
      ? named(paramsNode)
          .filter((c) => c.type === "identifier")
          .map((c) => c.text)
      : null;
    let tokens;
    try {
      tokens = tokenize(raw);
    } catch (e) {
      const at = e instanceof TokenizeError ? e.at : 0;
      const line = valueNode
        ? valueNode.startPosition.row + 1 + (raw.slice(0, at).match(/\n/g)?.length ?? 0)
        : posOf(node).line;
      throw new HeaderError(
        this.file,
        line,
        (valueNode?.startPosition.column ?? 0) + 1,
        `in #define ${name}: ${(e as Error).message}`,
      );
    }
    // Comments in a #define's line: a block comment is a child node, a // comment stays in the value text.
    const inlineComments = [
      ...named(node)
        .filter((c) => c.type === "comment")
        .map((c) => commentText(c.text)),
      ...(raw.match(/\/\/.*$|\/\*[\s\S]*?\*\//gm) ?? []).map(commentText),
    ];
    const body = stripComments(raw);
    const doc = joinDocs(docFor(node, at.siblings, at.index), ...inlineComments);
    const macro = new HeaderMacro(name, params, raw, body, doc, posOf(node));
    this.scope.macros.set(name, macro);
    this.defines.delete(name); // a redefinition moves to its new place
    this.defines.set(name, macro);
    // `#define __u64 uint64_t`: a macro that names a type acts as a typedef.
    if (params === null && tokens.length > 0 && tokens.every((t) => t.kind === "ident")) {
      const type = this.scope.typeFromWords(tokens.map((t) => t.text));
      if (type) this.addTypedef({ name, type, viaMacro: true, pos: posOf(node) });
    }
  }

  private directive(node: Node): void {
    // `# undef X` is as valid as `#undef X`.
    const directive = (node.childForFieldName("directive")?.text ?? "").replace(/\s+/g, "");
    const arg = node.childForFieldName("argument")?.text.trim() ?? "";
    if (directive === "#undef") {
      this.scope.macros.delete(arg);
      this.defines.delete(arg);
      if (this.scope.typedefs.get(arg)?.viaMacro) this.scope.typedefs.delete(arg);
    } else if (directive === "#error") {
      throw this.error(node, `#error ${arg}`);
    }
    // #pragma, #warning, #line: nothing that changes the ABI.
  }

  private addTypedef(def: TypedefDef): void {
    this.scope.typedefs.set(def.name, def);
    this.typedefs.delete(def.name); // a redefinition moves to its new place
    this.typedefs.set(def.name, def);
  }

  private typeDefinition(at: At): void {
    const node = at.node;
    const typeNode = node.childForFieldName("type");
    if (!typeNode) return;
    const base = this.typeOf(typeNode, at);
    for (const d of fieldKids(node, "declarator")) {
      const { name, type } = this.applyDeclarator(d, base);
      if (name) this.addTypedef({ name, type, viaMacro: false, pos: posOf(d) });
    }
  }

  /**
   * A struct/union specifier: defines the tag when it has a body. `holder` is
   * the item it appears in (itself, or the declaration, typedef or field that
   * holds it), whose comments document it.
   */
  private recordSpecifier(node: Node, holder: At): TypeRef {
    const kind = node.type === "union_specifier" ? "union" : "struct";
    const nameNode = node.childForFieldName("name");
    const body = node.childForFieldName("body");
    if (!body) {
      if (!nameNode) throw this.error(node, `${kind} without a name or a body`);
      return { kind, name: nameNode.text };
    }
    // Records nest by recursion here and in every later stage (layout, lint, render): bound it.
    if (this.recordDepth >= MAX_NESTING)
      throw this.error(node, `${kind} definitions nested more than ${MAX_NESTING} levels deep`);
    this.recordDepth++;
    let fields: Field[];
    try {
      fields = this.fieldList(body, kind === "union");
    } finally {
      this.recordDepth--;
    }
    if (!nameNode) return { kind: "record", union: kind === "union", fields };
    const name = nameNode.text;
    const key = `${kind} ${name}`;
    if (this.scope.records.has(key)) throw this.error(nameNode, `redefinition of ${key}`);
    const layout = Object.fromEntries(
      TARGETS.map((t) => {
        const r = this.layoutOf(fields, kind === "union", t, node);
        return [t, { size: r.size, align: r.align, padding: r.padding }];
      }),
    ) as StructDef["layout"];
    const primary = layout[PRIMARY_TARGET];
    const last = fields[fields.length - 1];
    const def: StructDef = {
      name,
      union: kind === "union",
      size: primary.size,
      align: primary.align,
      fields,
      layout,
      ...(last && endsFlexible(last, this.scope) ? { flexible: true as const } : {}),
      ...docOf(holder),
      pos: posOf(node),
    };
    this.scope.records.set(key, def);
    this.structs.push(def);
    return { kind, name };
  }

  private layoutOf(
    fields: readonly Field[],
    union: boolean,
    target: (typeof TARGETS)[number],
    at: Node,
  ) {
    try {
      return layoutRecord(
        fields.map((f) => f.type),
        union,
        TARGET_INFO[target],
        this.scope,
        fields.map((f) => f.name),
      );
    } catch (e) {
      if (e instanceof LayoutError) throw this.error(at, e.message);
      throw e;
    }
  }

  /** Fields of a struct/union body, with their layout on every target. */
  private fieldList(body: Node, union: boolean): Field[] {
    const pending: Omit<Field, "offset" | "size" | "align" | "layout">[] = [];
    for (const at of this.taken(body, "named", isBodyConditional)) {
      const type = at.node.type;
      if (type === "field_declaration") for (const f of this.fieldDeclaration(at)) pending.push(f);
      else if (type === "preproc_def" || type === "preproc_function_def") this.define(at);
      else if (type === "preproc_call") this.directive(at.node);
    }
    const perTarget = Object.fromEntries(
      TARGETS.map((t) => [t, this.layoutOf(pending as Field[], union, t, body).fields]),
    ) as Record<(typeof TARGETS)[number], { offset: number; size: number; align: number }[]>;
    return pending.map((f, i) => {
      const layout = Object.fromEntries(
        TARGETS.map((t) => [t, perTarget[t][i]]),
      ) as Field["layout"];
      const p = layout[PRIMARY_TARGET];
      return { ...f, offset: p.offset, size: p.size, align: p.align, layout };
    });
  }

  private fieldDeclaration(at: At): Omit<Field, "offset" | "size" | "align" | "layout">[] {
    const node = at.node;
    const typeNode = node.childForFieldName("type");
    if (!typeNode) throw this.error(node, "field without a type");
    const bitfield = named(node).find((c) => c.type === "bitfield_clause");
    if (bitfield)
      throw this.error(
        bitfield,
        "bit-fields are not supported: their layout is implementation-defined",
      );
    const base = this.typeOf(typeNode, at);
    const ctype = typeNode.childForFieldName("body")
      ? `${typeNode.type.split("_")[0]}${typeNode.childForFieldName("name") ? " " + typeNode.childForFieldName("name")!.text : ""}`
      : typeNode.text.replace(/\s+/g, " ");
    const doc = docFor(node, at.siblings, at.index);
    const declarators = fieldKids(node, "declarator");
    if (declarators.length === 0) {
      if (base.kind !== "record") throw this.error(node, "declaration does not declare a member");
      return [
        { name: null, type: base, ctype, count: 1, ...(doc ? { doc } : {}), pos: posOf(node) },
      ];
    }
    return declarators.map((d) => {
      const { name, type } = this.applyDeclarator(d, base);
      if (type.kind === "struct" || type.kind === "union" || type.kind === "enum")
        this.requireComplete(type, typeNode);
      const flexible = type.kind === "array" && type.length === null;
      return {
        name,
        type,
        ctype,
        count: type.kind === "array" ? (type.length ?? 0) : 1,
        ...(flexible ? { flexible: true as const } : {}),
        ...(doc ? { doc } : {}),
        pos: posOf(d),
      };
    });
  }

  private requireComplete(type: TypeRef, at: Node): void {
    if (
      (type.kind === "struct" || type.kind === "union") &&
      !this.scope.records.has(`${type.kind} ${type.name}`)
    )
      throw this.error(at, `field has incomplete type '${type.kind} ${type.name}'`);
    if (type.kind === "enum" && !this.scope.enums.has(type.name))
      throw this.error(at, `field has incomplete type 'enum ${type.name}'`);
  }

  /** The type a specifier node names; defines records/enums that it carries (documented by `holder`). */
  private typeOf(node: Node, holder: At): TypeRef {
    switch (node.type) {
      case "struct_specifier":
      case "union_specifier":
        return this.recordSpecifier(node, holder);
      case "enum_specifier": {
        const name = node.childForFieldName("name")?.text;
        if (node.childForFieldName("body")) this.enumSpecifier(node, holder);
        // An enum member is stored as its underlying int type.
        return name ? { kind: "enum", name } : { kind: "int", name: "uint32_t", spelled: "enum" };
      }
      case "primitive_type":
      case "type_identifier":
      case "sized_type_specifier": {
        const words = node.type === "sized_type_specifier" ? specifierWords(node) : [node.text];
        if (words.length === 1 && words[0] === "void")
          return { kind: "int", name: "uint8_t", spelled: "void" };
        const t = this.scope.typeFromWords(words);
        if (!t) throw this.error(node, `unknown type '${words.join(" ")}'`);
        return t;
      }
      default:
        throw this.error(node, `unsupported type syntax '${snippet(node.text)}'`);
    }
  }

  /**
   * Apply a declarator (`*p`, `a[4]`, `(*f)[2]`) to its base type, from the
   * outside in: each layer wraps the type so far and hands on its inner
   * declarator (a loop, and at most MAX_NESTING layers, since the types it
   * builds are walked recursively later).
   */
  private applyDeclarator(declarator: Node, base: TypeRef): { name: string | null; type: TypeRef } {
    let node = declarator;
    for (let layers = 0; ; layers++) {
      if (layers > MAX_NESTING)
        throw this.error(node, `declarator nested more than ${MAX_NESTING} levels deep`);
      const step = this.declaratorLayer(node, base);
      if ("name" in step) return step;
      ({ node, type: base } = step.inner);
    }
  }

  /** One layer of a declarator: the declared name, or the inner declarator and the type it applies to. */
  private declaratorLayer(
    node: Node,
    base: TypeRef,
  ): { name: string; type: TypeRef } | { inner: { node: Node; type: TypeRef } } {
    switch (node.type) {
      case "field_identifier":
      case "identifier":
      case "type_identifier":
      case "primitive_type":
        if (base.kind === "int" && base.spelled === "void")
          throw this.error(node, `'${node.text}' declared void`);
        return { name: node.text, type: base };
      case "pointer_declarator": {
        const spelled = base.kind === "pointer" ? `${base.spelled}*` : `${typeText(base)} *`;
        return {
          inner: {
            node: node.childForFieldName("declarator")!,
            type: { kind: "pointer", to: base, spelled },
          },
        };
      }
      case "parenthesized_declarator":
        return { inner: { node: named(node)[0], type: base } };
      case "array_declarator": {
        const sizeNode = node.childForFieldName("size");
        const lengthExpr = sizeNode ? sizeNode.text.replace(/\s+/g, " ") : "";
        let length: number | null = null;
        if (sizeNode) {
          try {
            length = Number(evaluateText(sizeNode.text, this.scope.env(PRIMARY_TARGET)).v);
          } catch (e) {
            if (e instanceof EvalError || e instanceof TokenizeError)
              throw this.error(
                sizeNode,
                `array size '${snippet(lengthExpr)}' is not a constant: ${e.message}`,
              );
            throw e;
          }
          if (length < 0) throw this.error(sizeNode, `array size ${length} is negative`);
          if (length === 0) length = null; // GNU zero-length array: the old spelling of a flexible member
        }
        if (base.kind === "int" && base.spelled === "void") throw this.error(node, "array of void");
        return {
          inner: {
            node: node.childForFieldName("declarator")!,
            type: { kind: "array", of: base, length, lengthExpr },
          },
        };
      }
      default:
        throw this.error(node, `unsupported declarator '${snippet(node.text)}'`);
    }
  }

  private enumSpecifier(node: Node, holder: At): void {
    const body = node.childForFieldName("body");
    const nameNode = node.childForFieldName("name");
    if (!body) return;
    const members: EnumMember[] = [];
    let next = 0n;
    const env = this.scope.env(PRIMARY_TARGET);
    const siblings = kids(body);
    for (let index = 0; index < siblings.length; index++) {
      const e = siblings[index]!;
      if (e.type !== "enumerator") continue;
      const name = e.childForFieldName("name")!.text;
      const valueNode = e.childForFieldName("value");
      let value = next;
      if (valueNode) {
        try {
          value = evaluateText(valueNode.text, env).v;
        } catch (err) {
          throw this.error(valueNode, `enumerator ${name}: ${(err as Error).message}`);
        }
      }
      const doc = docFor(e, siblings, index);
      members.push({
        name,
        value: value.toString(),
        ...(valueNode ? { expression: valueNode.text.replace(/\s+/g, " ") } : {}),
        ...(doc ? { doc } : {}),
        pos: posOf(e),
      });
      this.scope.enumConstants.set(name, { value, enumName: nameNode?.text ?? null });
      next = value + 1n;
    }
    const name = nameNode?.text ?? `anonymous_enum_${posOf(node).line}`;
    if (this.scope.enums.has(name))
      throw this.error(nameNode ?? node, `redefinition of enum ${name}`);
    const def: EnumDef = { name, members, ...docOf(holder), pos: posOf(node) };
    this.scope.enums.set(name, def);
    this.enums.push(def);
  }
}

/** Doc comments of an item (see docFor). */
function docOf(at: At): { doc?: string } {
  const doc = docFor(at.node, at.siblings, at.index);
  return doc ? { doc } : {};
}

function specifierWords(node: Node): string[] {
  return kids(node)
    .filter((c) => c.type !== "comment")
    .map((c) => c.text);
}

function endsFlexible(field: Field, scope: DeclScope): boolean {
  if (field.flexible) return true;
  const t = field.type;
  if (t.kind === "struct") return !!scope.records.get(`struct ${t.name}`)?.flexible;
  if (t.kind === "record" && !t.union && t.fields.length)
    return endsFlexible(t.fields[t.fields.length - 1], scope);
  return false;
}

/** Macro body without comments, whitespace folded: the `expression` users read. */
function stripComments(raw: string): string {
  return raw
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/.*$/gm, "")
    .replace(/\\\r?\n/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}
