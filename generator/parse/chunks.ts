/**
 * Splits a big header into chunks that tree-sitter parses one at a time, so
 * memory stays bounded by the chunk, not the header: tree-sitter's tree of a
 * 50 MiB header takes ~330 MiB of WebAssembly memory that never shrinks, and
 * every tree-sitter node the walker touches must stay reachable while the tree
 * lives.
 *
 * A chunk is a list of tree-sitter `includedRanges` (absolute offsets, so
 * every position stays the header's own line and column): a run of complete
 * top-level items, wrapped in the directive lines of the conditionals that are
 * open around it (`#ifndef GUARD`, `#else`, `#endif`...), so that tree-sitter
 * sees the same nesting as in the whole header, minus items of other chunks.
 * The walker decides each conditional once, when its first line is walked,
 * and reuses the decision in later chunks (HeaderWalker.takenBranch).
 *
 * A split is only made where it cannot change what the walker sees:
 * - outside comments, strings, braces and parentheses, at the start of a line;
 * - right after a complete item (`;` at top level, or a directive line), with
 *   no comment on a line of its own since (it may document the next item), so
 *   doc comments and trailing comments stay with their item;
 * - where the open conditionals are few and all opened at top level.
 * Anything the scanner does not understand (an unbalanced conditional, a `#`
 * that does not start a line) means no split at all: one chunk, exactly the
 * whole-header parse. A header smaller than the chunk size is one chunk too.
 */

/** A tree-sitter range: offsets in UTF-16 code units (JavaScript string indexes), rows and columns 0-based. */
export interface TextRange {
  startIndex: number;
  endIndex: number;
  startPosition: { row: number; column: number };
  endPosition: { row: number; column: number };
}

/**
 * Text per chunk, roughly (UTF-16 code units): large enough that per-parse
 * overhead is noise, small enough that each tree and the nodes walked from it
 * die young. Every real FUSE header (about 32 KiB) is one chunk. Measured on a
 * 50 MiB header of defines: 1 MiB chunks peaked at 990 MB RSS, 256 KiB at
 * 910 MB, 64 KiB at 750 MB, 16 KiB no lower and slower.
 */
export const CHUNK_SIZE = 1 << 16;
/** Most open conditionals, and most of their directive lines, a split may have to repeat around a chunk. */
const MAX_OPEN_CONDITIONALS = 16;
const MAX_WRAPPER_LINES = 64;

interface Line {
  start: number;
  end: number;
  row: number;
  /** Where the line ends: the next row's start, or the end of the text (a directive may continue over several rows). */
  endRow: number;
  endColumn: number;
}

interface Conditional {
  /** Directive lines in order: #if/#ifdef/#ifndef, any #elif/#else, then #endif. */
  lines: Line[];
  braces: number;
}

interface Split {
  offset: number;
  row: number;
  /** Conditionals open at the split (outermost first). */
  open: Conditional[];
}

const CONDITIONAL_OPEN = new Set(["if", "ifdef", "ifndef"]);
const CONDITIONAL_NEXT = new Set(["elif", "elifdef", "elifndef", "else"]);

/**
 * The chunks of `text`, each a non-empty list of ascending ranges, or null
 * when the header is parsed whole (small, or not safely splittable).
 */
export function planChunks(text: string, chunkSize = CHUNK_SIZE): TextRange[][] | null {
  if (text.length <= chunkSize) return null;
  const splits = scan(text, chunkSize);
  if (!splits || splits.length === 0) return null;
  const chunks: TextRange[][] = [];
  let from: Split = { offset: 0, row: 0, open: [] };
  for (const to of [...splits, { offset: text.length, row: -1, open: [] }]) {
    const prefix = from.open.flatMap((c) => c.lines.filter((l) => l.start < from.offset));
    const suffix = to.open.flatMap((c) => c.lines.filter((l) => l.start >= to.offset));
    const lines = [...prefix, ...suffix].sort((a, b) => a.start - b.start);
    const ranges: TextRange[] = [];
    const add = (
      startIndex: number,
      endIndex: number,
      startRow: number,
      endRow: number,
      endColumn: number,
    ) =>
      ranges.push({
        startIndex,
        endIndex,
        startPosition: { row: startRow, column: 0 },
        endPosition: { row: endRow, column: endColumn },
      });
    for (const l of lines.filter((l) => l.start < from.offset))
      add(l.start, l.end, l.row, l.endRow, l.endColumn);
    if (to.row === -1) {
      const lastNewline = text.lastIndexOf("\n");
      const rows = countRows(text, from.offset, text.length) + from.row;
      add(from.offset, text.length, from.row, rows, text.length - (lastNewline + 1));
    } else {
      add(from.offset, to.offset, from.row, to.row, 0);
    }
    for (const l of lines.filter((l) => l.start >= to.offset))
      add(l.start, l.end, l.row, l.endRow, l.endColumn);
    chunks.push(ranges);
    from = to;
  }
  return chunks;
}

function countRows(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

const NL = 10;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const FF = 12;
const VT = 11;
const HASH = 35;
const SLASH = 47;
const STAR = 42;
const BACKSLASH = 92;
const DQUOTE = 34;
const SQUOTE = 39;

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === FF || c === VT;
}

/**
 * One pass over the text: the split points, with the conditionals open at
 * each; null when the text has something the scanner does not follow.
 */
function scan(text: string, chunkSize: number): Split[] | null {
  const n = text.length;
  const splits: Split[] = [];
  const stack: Conditional[] = [];
  let i = 0;
  let row = 0;
  let braces = 0;
  let parens = 0;
  /** The last significant thing at top level ended an item. */
  let complete = true;
  /** Row where the last item completed; a comment starting on a later row may document the next item. */
  let completedRow = 0;
  let pendingComment = false;
  let chunkStart = 0;

  /** Skips a block comment starting at i (at the slash); returns false if unterminated. */
  const blockComment = (): boolean => {
    const end = text.indexOf("*/", i + 2);
    if (end === -1) return false;
    row += countRows(text, i, end);
    i = end + 2;
    return true;
  };
  /** Skips a line comment starting at i, up to (not including) its newline; continuations count. */
  const lineComment = (): void => {
    for (;;) {
      const nl = text.indexOf("\n", i);
      if (nl === -1) {
        i = n;
        return;
      }
      let k = nl - 1;
      if (k >= 0 && text.charCodeAt(k) === CR) k--;
      if (k >= i && text.charCodeAt(k) === BACKSLASH) {
        row++;
        i = nl + 1;
        continue;
      }
      i = nl;
      return;
    }
  };
  /** Skips a string or character literal starting at i; it ends at its quote or the line's end. */
  const literal = (): void => {
    const quote = text.charCodeAt(i);
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH) {
        if (text.charCodeAt(i + 1) === NL) row++;
        i += 2;
        continue;
      }
      if (c === NL || c === quote) {
        if (c === quote) i++;
        return;
      }
      i++;
    }
  };
  const noteComment = () => {
    if (complete && row > completedRow) pendingComment = true;
  };

  while (i < n) {
    // At the start of a line.
    if (
      i - chunkStart >= chunkSize &&
      complete &&
      !pendingComment &&
      braces === 0 &&
      parens === 0 &&
      stack.length <= MAX_OPEN_CONDITIONALS &&
      stack.every((c) => c.braces === 0) &&
      stack.reduce((sum, c) => sum + c.lines.length, 0) + stack.length <= MAX_WRAPPER_LINES
    ) {
      splits.push({ offset: i, row, open: [...stack] });
      chunkStart = i;
    }
    const lineStart = i;
    const lineRow = row;
    while (i < n && isBlank(text.charCodeAt(i))) i++;
    if (i < n && text.charCodeAt(i) === HASH) {
      // A directive: up to the end of its (continued) line; comments and literals inside it are skipped whole.
      i++;
      while (i < n && isBlank(text.charCodeAt(i))) i++;
      const nameStart = i;
      while (i < n && isNameChar(text.charCodeAt(i))) i++;
      const name = text.slice(nameStart, i);
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === NL) break;
        if (
          c === BACKSLASH &&
          (text.charCodeAt(i + 1) === NL ||
            (text.charCodeAt(i + 1) === CR && text.charCodeAt(i + 2) === NL))
        ) {
          i = text.indexOf("\n", i) + 1;
          row++;
          continue;
        }
        if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
          if (!blockComment()) return null;
          continue;
        }
        if (c === SLASH && text.charCodeAt(i + 1) === SLASH) {
          lineComment();
          continue;
        }
        if (c === DQUOTE || c === SQUOTE) {
          literal();
          continue;
        }
        i++;
      }
      const line: Line =
        i < n
          ? { start: lineStart, end: i + 1, row: lineRow, endRow: row + 1, endColumn: 0 }
          : {
              start: lineStart,
              end: n,
              row: lineRow,
              endRow: row,
              endColumn: n - (text.lastIndexOf("\n", n - 1) + 1),
            };
      if (CONDITIONAL_OPEN.has(name)) {
        stack.push({ lines: [line], braces });
      } else if (CONDITIONAL_NEXT.has(name) || name === "endif") {
        const top = stack[stack.length - 1];
        if (!top || top.braces !== braces) return null;
        top.lines.push(line);
        if (name === "endif") stack.pop();
      }
      if (i < n) {
        i++; // the newline
        row++;
      }
      complete = true;
      completedRow = row - 1;
      pendingComment = false;
      continue;
    }
    // Code up to the end of the line (comments and literals may run over several lines).
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === NL) {
        i++;
        row++;
        break;
      }
      if (isBlank(c)) {
        i++;
        continue;
      }
      if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
        noteComment();
        if (!blockComment()) return null;
        continue;
      }
      if (c === SLASH && text.charCodeAt(i + 1) === SLASH) {
        noteComment();
        lineComment();
        continue;
      }
      if (
        c === BACKSLASH &&
        (text.charCodeAt(i + 1) === NL ||
          (text.charCodeAt(i + 1) === CR && text.charCodeAt(i + 2) === NL))
      ) {
        i = text.indexOf("\n", i) + 1;
        row++;
        continue;
      }
      if (c === HASH) return null; // a '#' that does not start a line: not something to reason about here
      complete = false;
      pendingComment = false;
      if (c === DQUOTE || c === SQUOTE) {
        literal();
        continue;
      }
      if (c === 123) braces++;
      else if (c === 125) braces--;
      else if (c === 40) parens++;
      else if (c === 41) parens--;
      else if (c === 59 && braces === 0 && parens === 0) {
        complete = true;
        completedRow = row;
      }
      if (braces < 0 || parens < 0) return null;
      i++;
    }
  }
  if (stack.length > 0) return null; // an unterminated conditional: tree-sitter reports it from the whole text
  return splits;
}
