/**
 * Turns C comments into documentation text and decides which declaration a
 * comment documents: the comment right above it (no blank line between), and a
 * comment that starts on the line where the declaration ends (trailing).
 */
import type { Node } from "web-tree-sitter";

/** Strip comment markers and the ` * ` margin; keep line structure. */
export function commentText(raw: string): string {
  let body: string;
  if (raw.startsWith("//")) body = raw.replace(/^\/\/+ ?/, "");
  else body = raw.replace(/^\/\*+/, "").replace(/\*+\/$/, "");
  const [head, ...tail] = body.split("\n");
  // The first line follows `/*` directly: its own leading blanks are not indentation.
  const first = head.trim();
  const rest = tail.map((l) =>
    l
      .replace(/^\s*\*(?!\/) ?/, "")
      .replace(/\s+$/, "")
      .replace(/\t/g, "        "),
  );
  // Continuation lines without a `*` margin are indented to line up under the text: drop the common indent.
  const indents = rest.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  const lines = [first, ...rest.map((l) => l.slice(cut))];
  while (lines.length && lines[0].trim() === "") lines.shift();
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  return lines.join("\n");
}

export function joinDocs(...parts: (string | undefined)[]): string | undefined {
  const kept = parts.filter((p): p is string => !!p && p.length > 0);
  return kept.length ? kept.join("\n") : undefined;
}

/**
 * The last line a node really occupies: preprocessor directives own their
 * newline, so tree-sitter ends them at column 0 of the next line.
 */
function lastRow(n: Node): number {
  const end = n.endPosition;
  return end.column === 0 && end.row > n.startPosition.row ? end.row - 1 : end.row;
}

/**
 * Doc for `node`, which is `list[i]` (all children of its parent): comments
 * directly above it (a run of them, each touching the next) and a trailing
 * comment on its last line.
 */
export function docFor(node: Node, list: readonly Node[], i: number): string | undefined {
  const above: string[] = [];
  let line = node.startPosition.row;
  for (let k = i - 1; k >= 0; k--) {
    const s = list[k];
    if (s.type !== "comment" || lastRow(s) < line - 1) break;
    // A trailing comment of the previous declaration is not ours.
    const prev = list[k - 1];
    if (prev && prev.type !== "comment" && lastRow(prev) === s.startPosition.row) break;
    above.push(commentText(s.text));
    line = s.startPosition.row;
  }
  above.reverse(); // collected bottom-up
  const trailing: string[] = [];
  for (let k = i + 1; k < list.length; k++) {
    const s = list[k];
    if (s.type === "comment" && s.startPosition.row === lastRow(node))
      trailing.push(commentText(s.text));
    else if (s.type === "," || s.type === ";") continue;
    else break;
  }
  return joinDocs(above.join("\n") || undefined, trailing.join("\n") || undefined);
}
