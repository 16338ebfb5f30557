/** Null-free views of tree-sitter child lists (its typings allow holes). */
import type { Node } from "web-tree-sitter";

export function kids(node: Node | null | undefined): Node[] {
  return node ? node.children.filter((c): c is Node => c !== null) : [];
}

export function named(node: Node | null | undefined): Node[] {
  return node ? node.namedChildren.filter((c): c is Node => c !== null) : [];
}

export function fieldKids(node: Node, field: string): Node[] {
  return node.childrenForFieldName(field).filter((c): c is Node => c !== null);
}
