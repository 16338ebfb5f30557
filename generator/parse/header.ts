/**
 * Walks the tree-sitter syntax tree of a FUSE header the way a Linux userspace
 * compile sees it: preprocessor conditionals are decided as the compiler would
 * (`__KERNEL__` undefined, `__linux__` defined), `#define`/`#undef` are applied in
 * order, and structs, enums and typedefs are collected with their layout.
 */
import type { Node } from "web-tree-sitter";
import { EvalError, evaluateText } from "../cexpr/evaluate.js";
import { TokenizeError, tokenize } from "../cexpr/tokens.js";
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
import { commentText, docFor, joinDocs } from "./comments.js";
import { typeText } from "./ctype.js";
import { DeclScope } from "./scope.js";
import { fieldKids, kids, named } from "./nodes.js";
import { cParser } from "./tree-sitter.js";

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

export async function parseHeader(text: string, file: string): Promise<ParsedHeader> {
  const parser = await cParser();
  const tree = parser.parse(text);
  if (!tree) throw new HeaderError(file, 1, 1, "tree-sitter could not parse the file");
  try {
    const bad = firstError(tree.rootNode);
    if (bad) {
      const what = bad.isMissing ? `syntax error: missing '${bad.type}'` : `syntax error near '${snippet(bad.text)}'`;
      throw new HeaderError(file, bad.startPosition.row + 1, bad.startPosition.column + 1, what);
    }
    const walker = new HeaderWalker(file);
    walker.walkItems(kids(tree.rootNode));
    return walker.result();
  } finally {
    tree.delete();
  }
}

function firstError(node: Node): Node | undefined {
  if (node.isMissing) return node;
  if (node.type === "ERROR") return culprit(node);
  if (!node.hasError) return undefined;
  for (const c of kids(node)) {
    const e = firstError(c);
    if (e) return e;
  }
  return node;
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

/** Children of a conditional's branch: everything but its directive tokens and named parts. */
function branchBody(node: Node): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < node.childCount; i++) {
    const field = node.fieldNameForChild(i);
    const c = node.child(i)!;
    if (field === "name" || field === "condition" || field === "alternative") continue;
    if (!c.isNamed) continue;
    out.push(c);
  }
  return out;
}

interface RawMacroDef {
  name: string;
  params: string[] | null;
  body: string;
  doc?: string;
  pos: SourcePos;
}

class HeaderWalker {
  readonly scope = new DeclScope();
  private readonly includes: IncludeDef[] = [];
  private readonly structs: StructDef[] = [];
  private readonly enums: EnumDef[] = [];
  private readonly typedefs: TypedefDef[] = [];
  /** Every #define of the header still in force, by name (insertion order = definition order). */
  private readonly defines = new Map<string, RawMacroDef>();

  constructor(private readonly file: string) {}

  private error(node: Node, message: string): HeaderError {
    const p = posOf(node);
    return new HeaderError(this.file, p.line, p.column, message);
  }

  result(): ParsedHeader {
    const constants: RawConstant[] = [];
    const macros: MacroDef[] = [];
    for (const d of this.defines.values()) {
      if (d.params) macros.push({ name: d.name, params: d.params, body: d.body, ...(d.doc ? { doc: d.doc } : {}), pos: d.pos });
      else if (d.body !== "" && !this.scope.typedefs.has(d.name))
        constants.push({ name: d.name, body: d.body, ...(d.doc ? { doc: d.doc } : {}), pos: d.pos });
    }
    return {
      scope: this.scope,
      includes: this.includes,
      structs: this.structs,
      enums: this.enums,
      typedefs: this.typedefs,
      constants,
      macros,
    };
  }

  /** Process a list of sibling items, descending into the taken branch of conditionals. */
  walkItems(items: readonly Node[]): void {
    for (const node of items) this.walkItem(node);
  }

  private walkItem(node: Node): void {
    switch (node.type) {
      case "preproc_ifdef":
      case "preproc_if":
      case "preproc_elif":
      case "preproc_elifdef":
      case "preproc_else":
        this.walkItems(this.takenBranch(node));
        return;
      case "preproc_def":
      case "preproc_function_def":
        this.define(node);
        return;
      case "preproc_call":
        this.directive(node);
        return;
      case "preproc_include": {
        const path = node.childForFieldName("path");
        if (path)
          this.includes.push({ path: path.text.replace(/^[<"]|[>"]$/g, ""), system: path.type === "system_lib_string", pos: posOf(node) });
        return;
      }
      case "struct_specifier":
      case "union_specifier":
        this.recordSpecifier(node);
        return;
      case "enum_specifier":
        this.enumSpecifier(node);
        return;
      case "type_definition":
        this.typeDefinition(node);
        return;
      case "declaration": {
        // `struct x {...} var;`: keep the type, variables are not part of an ABI header.
        const type = node.childForFieldName("type");
        if (type) this.walkItem(type);
        return;
      }
      default:
        return; // comments, function prototypes, stray semicolons
    }
  }

  /** The children of the branch a conditional takes (empty when none does). */
  private takenBranch(node: Node): Node[] {
    if (node.type === "preproc_else") return branchBody(node);
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
    if (taken) return branchBody(node);
    const alt = node.childForFieldName("alternative");
    return alt ? this.takenBranch(alt) : [];
  }

  private define(node: Node): void {
    const name = node.childForFieldName("name")!.text;
    const valueNode = node.childForFieldName("value");
    const raw = valueNode?.text ?? "";
    const paramsNode = node.childForFieldName("parameters");
    const params = paramsNode ? named(paramsNode).filter((c) => c.type === "identifier").map((c) => c.text) : null;
    let tokens;
    try {
      tokens = tokenize(raw);
    } catch (e) {
      const at = e instanceof TokenizeError ? e.at : 0;
      const line = valueNode ? valueNode.startPosition.row + 1 + (raw.slice(0, at).match(/\n/g)?.length ?? 0) : posOf(node).line;
      throw new HeaderError(this.file, line, (valueNode?.startPosition.column ?? 0) + 1, `in #define ${name}: ${(e as Error).message}`);
    }
    // Comments in a #define's line: a block comment is a child node, a // comment stays in the value text.
    const inlineComments = [
      ...named(node).filter((c) => c.type === "comment").map((c) => commentText(c.text)),
      ...(raw.match(/\/\/.*$|\/\*[\s\S]*?\*\//gm) ?? []).map(commentText),
    ];
    const body = stripComments(raw);
    const doc = joinDocs(docFor(node, kids(node.parent)), ...inlineComments);
    this.scope.macros.set(name, { name, params, body: tokens });
    this.defines.delete(name); // a redefinition moves to its new place
    this.defines.set(name, { name, params, body, ...(doc ? { doc } : {}), pos: posOf(node) });
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
    const i = this.typedefs.findIndex((t) => t.name === def.name);
    if (i >= 0) this.typedefs.splice(i, 1);
    this.typedefs.push(def);
  }

  private typeDefinition(node: Node): void {
    const typeNode = node.childForFieldName("type");
    if (!typeNode) return;
    const base = this.typeOf(typeNode);
    for (const d of fieldKids(node, "declarator")) {
      const { name, type } = this.applyDeclarator(d, base);
      if (name) this.addTypedef({ name, type, viaMacro: false, pos: posOf(d) });
    }
  }

  /** A struct/union specifier seen as an item: defines the tag when it has a body. */
  private recordSpecifier(node: Node): TypeRef {
    const kind = node.type === "union_specifier" ? "union" : "struct";
    const nameNode = node.childForFieldName("name");
    const body = node.childForFieldName("body");
    if (!body) {
      if (!nameNode) throw this.error(node, `${kind} without a name or a body`);
      return { kind, name: nameNode.text };
    }
    const fields = this.fieldList(body, kind === "union");
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
      ...this.docOf(node),
      pos: posOf(node),
    };
    this.scope.records.set(key, def);
    this.structs.push(def);
    return { kind, name };
  }

  private layoutOf(fields: readonly Field[], union: boolean, target: (typeof TARGETS)[number], at: Node) {
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

  private docOf(node: Node): { doc?: string } {
    // A specifier's comments are siblings of the declaration that holds it.
    const holder = node.parent && ["declaration", "type_definition", "field_declaration"].includes(node.parent.type) ? node.parent : node;
    const doc = docFor(holder, kids(holder.parent));
    return doc ? { doc } : {};
  }

  /** Fields of a struct/union body, with their layout on every target. */
  private fieldList(body: Node, union: boolean): Field[] {
    const pending: Omit<Field, "offset" | "size" | "align" | "layout">[] = [];
    const visit = (items: readonly Node[]) => {
      for (const item of items) {
        if (item.type === "field_declaration") pending.push(...this.fieldDeclaration(item));
        else if (item.type.startsWith("preproc_if") || item.type === "preproc_ifdef") visit(this.takenBranch(item));
        else if (item.type === "preproc_def" || item.type === "preproc_function_def") this.define(item);
        else if (item.type === "preproc_call") this.directive(item);
      }
    };
    visit(named(body));
    const perTarget = Object.fromEntries(
      TARGETS.map((t) => [t, this.layoutOf(pending as Field[], union, t, body).fields]),
    ) as Record<(typeof TARGETS)[number], { offset: number; size: number; align: number }[]>;
    return pending.map((f, i) => {
      const layout = Object.fromEntries(TARGETS.map((t) => [t, perTarget[t][i]])) as Field["layout"];
      const p = layout[PRIMARY_TARGET];
      return { ...f, offset: p.offset, size: p.size, align: p.align, layout };
    });
  }

  private fieldDeclaration(node: Node): Omit<Field, "offset" | "size" | "align" | "layout">[] {
    const typeNode = node.childForFieldName("type");
    if (!typeNode) throw this.error(node, "field without a type");
    const bitfield = named(node).find((c) => c.type === "bitfield_clause");
    if (bitfield) throw this.error(bitfield, "bit-fields are not supported: their layout is implementation-defined");
    const base = this.typeOf(typeNode);
    const ctype = typeNode.childForFieldName("body") ? `${typeNode.type.split("_")[0]}${typeNode.childForFieldName("name") ? " " + typeNode.childForFieldName("name")!.text : ""}` : typeNode.text.replace(/\s+/g, " ");
    const doc = docFor(node, kids(node.parent));
    const declarators = fieldKids(node, "declarator");
    if (declarators.length === 0) {
      if (base.kind !== "record") throw this.error(node, "declaration does not declare a member");
      return [{ name: null, type: base, ctype, count: 1, ...(doc ? { doc } : {}), pos: posOf(node) }];
    }
    return declarators.map((d) => {
      const { name, type } = this.applyDeclarator(d, base);
      if (type.kind === "struct" || type.kind === "union" || type.kind === "enum") this.requireComplete(type, typeNode);
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
    if ((type.kind === "struct" || type.kind === "union") && !this.scope.records.has(`${type.kind} ${type.name}`))
      throw this.error(at, `field has incomplete type '${type.kind} ${type.name}'`);
    if (type.kind === "enum" && !this.scope.enums.has(type.name)) throw this.error(at, `field has incomplete type 'enum ${type.name}'`);
  }

  /** The type a specifier node names; defines records/enums that it carries. */
  private typeOf(node: Node): TypeRef {
    switch (node.type) {
      case "struct_specifier":
      case "union_specifier":
        return this.recordSpecifier(node);
      case "enum_specifier": {
        const name = node.childForFieldName("name")?.text;
        if (node.childForFieldName("body")) this.enumSpecifier(node);
        // An enum member is stored as its underlying int type.
        return name ? { kind: "enum", name } : { kind: "int", name: "uint32_t", spelled: "enum" };
      }
      case "primitive_type":
      case "type_identifier":
      case "sized_type_specifier": {
        const words = node.type === "sized_type_specifier" ? specifierWords(node) : [node.text];
        if (words.length === 1 && words[0] === "void") return { kind: "int", name: "uint8_t", spelled: "void" };
        const t = this.scope.typeFromWords(words);
        if (!t) throw this.error(node, `unknown type '${words.join(" ")}'`);
        return t;
      }
      default:
        throw this.error(node, `unsupported type syntax '${snippet(node.text)}'`);
    }
  }

  /** Apply a declarator (`*p`, `a[4]`, `(*f)[2]`) to its base type. */
  private applyDeclarator(node: Node, base: TypeRef): { name: string | null; type: TypeRef } {
    switch (node.type) {
      case "field_identifier":
      case "identifier":
      case "type_identifier":
      case "primitive_type":
        if (base.kind === "int" && base.spelled === "void") throw this.error(node, `'${node.text}' declared void`);
        return { name: node.text, type: base };
      case "pointer_declarator": {
        const spelled = base.kind === "pointer" ? `${base.spelled}*` : `${typeText(base)} *`;
        return this.applyDeclarator(node.childForFieldName("declarator")!, { kind: "pointer", to: base, spelled });
      }
      case "parenthesized_declarator":
        return this.applyDeclarator(named(node)[0], base);
      case "array_declarator": {
        const sizeNode = node.childForFieldName("size");
        const lengthExpr = sizeNode ? sizeNode.text.replace(/\s+/g, " ") : "";
        let length: number | null = null;
        if (sizeNode) {
          try {
            length = Number(evaluateText(sizeNode.text, this.scope.env(PRIMARY_TARGET)).v);
          } catch (e) {
            if (e instanceof EvalError || e instanceof TokenizeError) throw this.error(sizeNode, `array size '${lengthExpr}' is not a constant: ${e.message}`);
            throw e;
          }
          if (length < 0) throw this.error(sizeNode, `array size ${length} is negative`);
          if (length === 0) length = null; // GNU zero-length array: the old spelling of a flexible member
        }
        if (base.kind === "int" && base.spelled === "void") throw this.error(node, "array of void");
        return this.applyDeclarator(node.childForFieldName("declarator")!, { kind: "array", of: base, length, lengthExpr });
      }
      default:
        throw this.error(node, `unsupported declarator '${snippet(node.text)}'`);
    }
  }

  private enumSpecifier(node: Node): void {
    const body = node.childForFieldName("body");
    const nameNode = node.childForFieldName("name");
    if (!body) return;
    const members: EnumMember[] = [];
    let next = 0n;
    const env = this.scope.env(PRIMARY_TARGET);
    for (const e of named(body)) {
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
      const doc = docFor(e, kids(body));
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
    if (this.scope.enums.has(name)) throw this.error(nameNode ?? node, `redefinition of enum ${name}`);
    const def: EnumDef = { name, members, ...this.docOf(node), pos: posOf(node) };
    this.scope.enums.set(name, def);
    this.enums.push(def);
  }
}

function specifierWords(node: Node): string[] {
  return kids(node).filter((c) => c.type !== "comment").map((c) => c.text);
}

function endsFlexible(field: Field, scope: DeclScope): boolean {
  if (field.flexible) return true;
  const t = field.type;
  if (t.kind === "struct") return !!scope.records.get(`struct ${t.name}`)?.flexible;
  if (t.kind === "record" && !t.union && t.fields.length) return endsFlexible(t.fields[t.fields.length - 1], scope);
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
