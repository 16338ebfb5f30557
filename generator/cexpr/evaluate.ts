/**
 * Macro expansion and evaluation of C integer constant expressions, as the
 * preprocessor (`#if`) and the compiler (`#define` values, array sizes, enum
 * initializers) see them. Covers what FUSE headers use: shifts and masks over
 * suffixed literals, casts to fixed-width types, sizeof, offsetof (including the
 * old `((struct x *) 0)->member` idiom) and function-like helper macros.
 */
import type { ConstType } from "../model.js";
import type { TargetInfo } from "../layout/targets.js";
import { type CIntType, type CValue, common, intType, literalType, make, wrap } from "./ctypes.js";
import { type Token, tokenize } from "./tokens.js";

export interface MacroEntry {
  readonly name: string;
  /** null for an object-like macro. */
  readonly params: string[] | null;
  /** The replacement list. */
  readonly tokens: Token[];
}

/** A type name as written in a cast, sizeof or offsetof. */
export interface TypeName {
  words: string[];
  pointer: number;
}

export interface ResolvedType {
  size: number;
  align: number;
  /** Set for integer types: what a cast to it converts to (after promotion). */
  int?: { type: CIntType; bits: number; signed: boolean };
}

export interface ExprEnv {
  target: TargetInfo;
  macros: ReadonlyMap<string, MacroEntry>;
  /** An enumeration constant with its C type on this target (int, or the enum's type when it does not fit). */
  enumConstant(name: string): CValue | undefined;
  /** null when the words do not name a type. */
  resolveType(type: TypeName): ResolvedType | null;
  /** Words that can start a type name in a cast (typedef names, keywords). */
  isTypeWord(word: string): boolean;
  offsetOf(record: string, path: string[]): number;
}

export class EvalError extends Error {
  constructor(
    message: string,
    /** The identifier with no definition, when that is the cause. */
    readonly unresolved?: string,
  ) {
    super(message);
    this.name = "EvalError";
  }
}

/**
 * Input beyond what the evaluator accepts: nesting that would exhaust the call
 * stack, or an expansion that would exhaust memory. Unlike its parent class it
 * does not mean "this constant has no value": callers turn it into a
 * `file:line:col` HeaderError.
 */
export class LimitError extends EvalError {
  constructor(message: string) {
    super(message);
    this.name = "LimitError";
  }
}

const MAX_EXPANSION_DEPTH = 64;
/**
 * Deepest nesting of parentheses, unary operators, casts and `?:` arms the
 * recursive-descent parser accepts: 4x C's minimum of 63 parenthesized levels
 * (C11 5.2.4.1), far below what exhausts Node's default stack.
 */
export const MAX_EXPR_DEPTH = 256;
/** Most tokens one evaluation may expand to: macros doubling at each level must not run out of memory. */
export const MAX_EXPANDED_TOKENS = 1 << 20;

/** `out.push(...more)` without spreading: a spread of 100k+ elements overflows the stack. */
function append<T>(out: T[], more: readonly T[]): void {
  for (const x of more) out.push(x);
}

/** Expand macros in `tokens` (C's rescanning rules; no `#`/`##`, which FUSE headers never use). */
export function expandMacros(
  tokens: readonly Token[],
  env: ExprEnv,
  opts: { inIf?: boolean } = {},
  hide: ReadonlySet<string> = new Set(),
  depth = 0,
  budget: { left: number } = { left: MAX_EXPANDED_TOKENS },
): Token[] {
  if (depth > MAX_EXPANSION_DEPTH)
    throw new EvalError("macro expansion too deep (recursive macro?)");
  budget.left -= tokens.length;
  if (budget.left < 0)
    throw new LimitError(`macro expansion exceeds ${MAX_EXPANDED_TOKENS} tokens`);
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok.kind !== "ident") {
      out.push(tok);
      continue;
    }
    if (opts.inIf && tok.text === "defined") {
      // `defined X` / `defined(X)` must be decided before X is expanded.
      let j = i + 1;
      const paren = tokens[j]?.text === "(";
      if (paren) j++;
      const name = tokens[j];
      if (!name || name.kind !== "ident") throw new EvalError("'defined' needs a macro name");
      if (paren && tokens[j + 1]?.text !== ")") throw new EvalError("missing ')' after 'defined('");
      out.push({ kind: "number", text: env.macros.has(name.text) ? "1" : "0", at: tok.at });
      i = paren ? j + 1 : j;
      continue;
    }
    const macro = env.macros.get(tok.text);
    if (!macro || hide.has(tok.text)) {
      out.push(tok);
      continue;
    }
    const inner = new Set(hide).add(macro.name);
    if (macro.params === null) {
      append(out, expandMacros(macro.tokens, env, opts, inner, depth + 1, budget));
      continue;
    }
    if (tokens[i + 1]?.text !== "(") {
      out.push(tok); // a function-like macro name not followed by '(' is not expanded
      continue;
    }
    const { args, end } = collectArgs(tokens, i + 1);
    if (
      args.length !== macro.params.length &&
      !(macro.params.length === 0 && args.length === 1 && args[0].length === 0)
    )
      throw new EvalError(
        `macro ${macro.name} takes ${macro.params.length} argument(s), got ${args.length}`,
      );
    const expandedArgs = args.map((a) => expandMacros(a, env, opts, hide, depth + 1, budget));
    const substituted: Token[] = [];
    for (const b of macro.tokens) {
      const k = b.kind === "ident" ? macro.params.indexOf(b.text) : -1;
      if (k >= 0) append(substituted, expandedArgs[k]);
      else substituted.push(b);
    }
    append(out, expandMacros(substituted, env, opts, inner, depth + 1, budget));
    i = end;
  }
  return out;
}

/** Split `( a, (b, c), d )` starting at `open`; returns the index of the closing ')'. */
function collectArgs(tokens: readonly Token[], open: number): { args: Token[][]; end: number } {
  const args: Token[][] = [[]];
  let level = 0;
  for (let i = open + 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.text === "(") level++;
    if (t.text === ")") {
      if (level === 0) return { args, end: i };
      level--;
    }
    if (t.text === "," && level === 0) args.push([]);
    else args[args.length - 1].push(t);
  }
  throw new EvalError("unterminated macro argument list");
}

/** Evaluate C text as an integer constant expression. */
export function evaluateText(text: string, env: ExprEnv, opts: { inIf?: boolean } = {}): CValue {
  return evaluateTokens(tokenize(text), env, opts);
}

export function evaluateTokens(
  tokens: readonly Token[],
  env: ExprEnv,
  opts: { inIf?: boolean } = {},
): CValue {
  return evaluateExpanded(expandMacros(tokens, env, opts), env, opts);
}

/**
 * Evaluate tokens whose macros are already expanded. Expansion depends on the
 * macros only, not on the target, so a value wanted on every target is
 * expanded once and evaluated per target.
 */
export function evaluateExpanded(
  expanded: readonly Token[],
  env: ExprEnv,
  opts: { inIf?: boolean } = {},
): CValue {
  if (expanded.length === 0) throw new EvalError("empty expression");
  const p = new ExprParser(expanded, env, opts.inIf ?? false);
  const v = p.ternary();
  if (!p.done()) throw new EvalError(`unexpected '${p.peek()?.text}' in constant expression`);
  return asInt(v, env);
}

/** An address from the `((struct x *) 0)->member` idiom, before it is cast to an integer. */
interface AddressValue {
  addr: bigint;
  record?: string;
  path?: string[];
}
type Value = CValue | AddressValue;

function isAddress(v: Value): v is AddressValue {
  return "addr" in v;
}

function asInt(v: Value, env: ExprEnv): CValue {
  if (isAddress(v))
    return make(
      v.addr,
      intType(env.target.longBits === 64 ? "unsigned long" : "unsigned int", env.target),
    );
  return v;
}

const BINARY_PRECEDENCE: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  ">": 7,
  "<=": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

class ExprParser {
  private i = 0;
  /**
   * > 0 while parsing an operand C does not evaluate (the untaken arm of `?:`,
   * the right side of a short-circuited `&&`/`||`): it must still parse, but
   * division by zero or an oversized shift there is not an error.
   */
  private skip = 0;
  /** Current nesting of unary() and `?:` arms (see unary()). */
  private depth = 0;
  constructor(
    private readonly toks: readonly Token[],
    private readonly env: ExprEnv,
    private readonly inIf: boolean,
  ) {}

  done(): boolean {
    return this.i >= this.toks.length;
  }
  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  private next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new EvalError("unexpected end of expression");
    return t;
  }
  private expect(text: string): void {
    const t = this.next();
    if (t.text !== text) throw new EvalError(`expected '${text}', found '${t.text}'`);
  }
  private get target(): TargetInfo {
    return this.env.target;
  }
  private int(name: ConstType): CIntType {
    return intType(name, this.target);
  }

  ternary(): Value {
    const cond = this.binary(1);
    if (this.peek()?.text !== "?") return cond;
    this.next();
    const taken = asInt(cond, this.env).v !== 0n;
    const a = asInt(
      this.skipping(!taken, () => this.nested(() => this.ternary())),
      this.env,
    );
    this.expect(":");
    const b = asInt(
      this.skipping(taken, () => this.nested(() => this.ternary())),
      this.env,
    );
    const t = common(a.t, b.t, this.target);
    return taken ? make(a.v, t) : make(b.v, t);
  }

  private binary(minPrec: number): Value {
    let left = this.unary();
    for (;;) {
      const op = this.peek();
      const prec = op && op.kind === "punct" ? BINARY_PRECEDENCE[op.text] : undefined;
      if (prec === undefined || prec < minPrec) return left;
      this.next();
      const l = asInt(left, this.env);
      const shortCircuit = (op!.text === "&&" && l.v === 0n) || (op!.text === "||" && l.v !== 0n);
      const right = this.skipping(shortCircuit, () => this.binary(prec + 1));
      left = this.apply(op!.text, l, asInt(right, this.env));
    }
  }

  private skipping<T>(skip: boolean, parse: () => T): T {
    if (skip) this.skip++;
    try {
      return parse();
    } finally {
      if (skip) this.skip--;
    }
  }

  private apply(op: string, a: CValue, b: CValue): CValue {
    const bool = (x: boolean) => make(x ? 1n : 0n, this.int("int"));
    if (op === "&&") return bool(a.v !== 0n && b.v !== 0n);
    if (op === "||") return bool(a.v !== 0n || b.v !== 0n);
    if (op === "<<" || op === ">>") {
      // The result has the (promoted) left operand's type; the shift count does not convert it.
      if (b.v < 0n || b.v >= BigInt(a.t.bits)) {
        if (this.skip) return make(0n, a.t);
        throw new EvalError(`shift count ${b.v} out of range for ${a.t.name}`);
      }
      return make(op === "<<" ? a.v << b.v : a.v >> b.v, a.t);
    }
    const t = common(a.t, b.t, this.target);
    const x = wrap(a.v, t);
    const y = wrap(b.v, t);
    switch (op) {
      case "+":
        return make(x + y, t);
      case "-":
        return make(x - y, t);
      case "*":
        return make(x * y, t);
      case "/":
      case "%":
        if (y === 0n) {
          if (this.skip) return make(0n, t);
          throw new EvalError("division by zero in constant expression");
        }
        return make(op === "/" ? x / y : x % y, t); // BigInt division truncates toward zero, like C
      case "&":
        return make(x & y, t);
      case "|":
        return make(x | y, t);
      case "^":
        return make(x ^ y, t);
      case "==":
        return bool(x === y);
      case "!=":
        return bool(x !== y);
      case "<":
        return bool(x < y);
      case ">":
        return bool(x > y);
      case "<=":
        return bool(x <= y);
      case ">=":
        return bool(x >= y);
    }
    throw new EvalError(`operator '${op}' is not supported in constant expressions`);
  }

  /**
   * Every recursion of the parser passes through unary() (a parenthesis, a
   * unary operator, a cast, a sizeof operand) or a `?:` arm: both count their
   * nesting, which bounds the stack the parser can use.
   */
  private unary(): Value {
    return this.nested(() => this.unaryAt());
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_EXPR_DEPTH)
      throw new LimitError(`expression nested more than ${MAX_EXPR_DEPTH} levels deep`);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private unaryAt(): Value {
    const t = this.peek();
    if (!t) throw new EvalError("unexpected end of expression");
    if (t.kind === "punct" && ["-", "+", "~", "!"].includes(t.text)) {
      this.next();
      const v = asInt(this.unary(), this.env);
      if (t.text === "-") return make(-v.v, v.t);
      if (t.text === "+") return v;
      if (t.text === "~") return make(~v.v, v.t);
      return make(v.v === 0n ? 1n : 0n, this.int("int"));
    }
    if (t.kind === "punct" && t.text === "&") {
      this.next();
      const v = this.unary();
      if (!isAddress(v)) throw new EvalError("'&' of a non-member in constant expression");
      return v;
    }
    if (t.kind === "ident" && t.text === "sizeof") {
      this.next();
      return make(BigInt(this.sizeofOperand()), this.sizeType());
    }
    if (t.kind === "ident" && (t.text === "_Alignof" || t.text === "__alignof__")) {
      this.next();
      this.expect("(");
      const type = this.typeName();
      this.expect(")");
      const r = this.resolve(type);
      // GNU __alignof__ gives the preferred alignment: 8 for 8-byte scalars even where the ABI uses 4 (i386).
      const align =
        t.text === "__alignof__" && type.pointer === 0 && r.int && r.size === 8 ? 8 : r.align;
      return make(BigInt(align), this.sizeType());
    }
    if (t.text === "(" && this.startsTypeName(1)) {
      this.next();
      const type = this.typeName();
      this.expect(")");
      const operand = this.unary();
      return this.cast(type, operand);
    }
    return this.postfix(this.primary());
  }

  private sizeType(): CIntType {
    return this.int(this.target.longBits === 64 ? "unsigned long" : "unsigned int");
  }

  private sizeofOperand(): number {
    if (this.peek()?.text === "(" && this.startsTypeName(1)) {
      this.next();
      const type = this.typeName();
      this.expect(")");
      return this.resolve(type).size;
    }
    const v = asInt(this.unary(), this.env);
    return v.t.bits / 8;
  }

  private resolve(type: TypeName): ResolvedType {
    const r = this.env.resolveType(type);
    if (!r)
      throw new EvalError(
        `unknown type '${type.words.join(" ")}'`,
        type.words[type.words.length - 1],
      );
    return r;
  }

  private cast(type: TypeName, operand: Value): Value {
    if (type.pointer > 0) {
      // Only the null-pointer-to-record idiom is a constant: remember the record.
      const v = asInt(operand, this.env);
      const record =
        type.words[0] === "struct" || type.words[0] === "union" ? type.words.join(" ") : undefined;
      return { addr: v.v, record, path: [] };
    }
    const r = this.resolve(type);
    if (!r.int) throw new EvalError(`cast to non-integer type '${type.words.join(" ")}'`);
    const v = asInt(operand, this.env);
    // Narrow to the named width first, then the value takes its promoted type.
    const narrowed = r.int.signed
      ? BigInt.asIntN(r.int.bits, v.v)
      : BigInt.asUintN(r.int.bits, v.v);
    return make(narrowed, r.int.type);
  }

  private startsTypeName(k: number): boolean {
    const t = this.peek(k);
    return !!t && t.kind === "ident" && this.env.isTypeWord(t.text);
  }

  private typeName(): TypeName {
    const words: string[] = [];
    while (this.peek()?.kind === "ident") {
      const w = this.next().text;
      if (w === "const" || w === "volatile") continue;
      words.push(w);
      if (w === "struct" || w === "union" || w === "enum") {
        words.push(this.next().text);
        break;
      }
      if (!this.env.isTypeWord(this.peek()?.text ?? "")) break;
    }
    let pointer = 0;
    while (this.peek()?.text === "*") {
      this.next();
      pointer++;
    }
    return { words, pointer };
  }

  private postfix(v: Value): Value {
    for (;;) {
      const t = this.peek();
      if (t?.text === "->" || (t?.text === "." && isAddress(v))) {
        this.next();
        const member = this.next();
        if (member.kind !== "ident") throw new EvalError("expected a member name");
        if (!isAddress(v) || !v.record)
          throw new EvalError(`'${t.text}' applied to a non-record in constant expression`);
        const path = [...(v.path ?? []), member.text];
        const base =
          v.addr - BigInt(v.path && v.path.length ? this.env.offsetOf(v.record, v.path) : 0);
        v = { addr: base + BigInt(this.env.offsetOf(v.record, path)), record: v.record, path };
        continue;
      }
      return v;
    }
  }

  private primary(): Value {
    const t = this.next();
    if (t.text === "(") {
      const v = this.ternary();
      this.expect(")");
      return v;
    }
    if (t.kind === "number") return this.number(t.text);
    if (t.kind === "char") return make(BigInt(charValue(t.text)), this.int("int"));
    if (t.kind === "ident") {
      if (t.text === "offsetof" || t.text === "__builtin_offsetof") return this.offsetof();
      const e = this.env.enumConstant(t.text);
      if (e !== undefined) return e;
      // In #if, identifiers left after expansion are 0 (C11 6.10.1p4).
      if (this.inIf) return make(0n, this.int("long"));
      throw new EvalError(`'${t.text}' is not defined`, t.text);
    }
    throw new EvalError(`unexpected '${t.text}' in constant expression`);
  }

  private offsetof(): Value {
    this.expect("(");
    const type = this.typeName();
    this.expect(",");
    const path: string[] = [];
    for (;;) {
      const m = this.next();
      if (m.kind !== "ident") throw new EvalError("expected a member name in offsetof");
      path.push(m.text);
      if (this.peek()?.text !== ".") break;
      this.next();
    }
    this.expect(")");
    return make(BigInt(this.env.offsetOf(type.words.join(" "), path)), this.sizeType());
  }

  private number(text: string): CValue {
    const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(text);
    if (!m) throw new EvalError(`'${text}' is not an integer literal`);
    const digits = m[1];
    let value: bigint;
    if (/^0[0-7]+$/.test(digits)) value = BigInt("0o" + digits.slice(1));
    else value = BigInt(digits);
    const decimal = /^[1-9]/.test(digits) || digits === "0";
    // In #if, every integer has intmax_t/uintmax_t width (C11 6.10.1p4).
    if (this.inIf)
      return make(value, this.int(/u/i.test(m[2]) ? "unsigned long long" : "long long"));
    return make(value, literalType(value, m[2], decimal, this.target));
  }
}

function charValue(lit: string): number {
  const body = lit.slice(1, -1);
  if (!body.startsWith("\\")) return body.charCodeAt(0);
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, "0": 0, "\\": 92, "'": 39, '"': 34 };
  const c = body.slice(1);
  if (c in simple) return simple[c];
  if (/^x[0-9a-fA-F]+$/.test(c)) return parseInt(c.slice(1), 16);
  if (/^[0-7]+$/.test(c)) return parseInt(c, 8);
  throw new EvalError(`unsupported character literal ${lit}`);
}
