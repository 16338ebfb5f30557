/**
 * A tokenizer for the C text inside macro bodies, `#if` conditions and array
 * sizes. tree-sitter gives us declarations, but a macro body is an unparsed
 * `preproc_arg`, so constant expressions are tokenized and evaluated here.
 */

export type TokenKind = "number" | "ident" | "punct" | "string" | "char";

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offset in the tokenized text, for error columns. */
  at: number;
}

export class TokenizeError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
    this.name = "TokenizeError";
  }
}

// Longest first, so `<<=` wins over `<<` and `<`.
const PUNCTUATORS = [
  "<<=",
  ">>=",
  "...",
  "->",
  "++",
  "--",
  "<<",
  ">>",
  "<=",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "*=",
  "/=",
  "%=",
  "+=",
  "-=",
  "&=",
  "^=",
  "|=",
  "##",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ";",
  ":",
  "?",
  "~",
  "!",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  "<",
  ">",
  "=",
  ".",
  "#",
];

/** Tokenize C text; comments and line continuations are skipped. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && (text[i + 1] === "\n" || (text[i + 1] === "\r" && text[i + 2] === "\n"))) {
      i += text[i + 1] === "\n" ? 2 : 3;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new TokenizeError("unterminated comment", i);
      i = end + 2;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] ?? ""))) {
      // pp-number: digits, letters, dots, and exponent signs.
      i++;
      while (i < text.length) {
        const d = text[i];
        if (/[0-9A-Za-z_.]/.test(d)) i++;
        else if (
          (d === "+" || d === "-") &&
          /[eEpP]/.test(text[i - 1]) &&
          !/^0[xX]/.test(text.slice(start, i))
        )
          i++;
        else break;
      }
      tokens.push({ kind: "number", text: text.slice(start, i), at: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      i++;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++;
      tokens.push({ kind: "ident", text: text.slice(start, i), at: start });
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\") i++;
        if (text[i] === "\n")
          throw new TokenizeError(
            `unterminated ${c === '"' ? "string" : "character"} literal`,
            start,
          );
        i++;
      }
      if (i >= text.length)
        throw new TokenizeError(
          `unterminated ${c === '"' ? "string" : "character"} literal`,
          start,
        );
      i++;
      tokens.push({ kind: c === '"' ? "string" : "char", text: text.slice(start, i), at: start });
      continue;
    }
    const p = PUNCTUATORS.find((q) => text.startsWith(q, i));
    if (!p) throw new TokenizeError(`unexpected character '${c}'`, i);
    tokens.push({ kind: "punct", text: p, at: start });
    i += p.length;
  }
  return tokens;
}
