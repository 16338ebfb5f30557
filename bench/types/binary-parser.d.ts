/**
 * The part of binary-parser 2.3 the benchmark uses. The package has types, but its
 * package.json "exports" does not point at them, so TypeScript cannot find them.
 */
declare module "binary-parser" {
  export class Parser {
    endianness(e: "little" | "big"): this;
    uint16(name: string): this;
    uint32(name: string): this;
    uint64(name: string): this;
    nest(name: string, opts: { type: Parser }): this;
    buffer(
      name: string,
      opts: { readUntil?: "eof"; length?: number | string; clone?: boolean },
    ): this;
    parse(buffer: Uint8Array): unknown;
  }
}
