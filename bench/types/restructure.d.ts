/**
 * The part of restructure 3 (which ships no types) the benchmark uses.
 * A type is any object with decode/encode/size, which is how restructure is extended.
 */
declare module "restructure" {
  export class DecodeStream {
    constructor(buffer: Uint8Array);
    buffer: Uint8Array;
    view: DataView;
    pos: number;
    length: number;
  }
  export class EncodeStream {
    constructor(buffer: Uint8Array);
    buffer: Uint8Array;
    view: DataView;
    pos: number;
    fill(value: number, length: number): void;
  }
  export interface RType {
    decode(stream: DecodeStream, parent?: unknown): unknown;
    encode?(stream: EncodeStream, value: unknown, parent?: unknown): void;
    size(value?: unknown, parent?: unknown): number;
  }
  export class Base implements RType {
    decode(stream: DecodeStream, parent?: unknown): unknown;
    encode(stream: EncodeStream, value: unknown, parent?: unknown): void;
    size(value?: unknown, parent?: unknown): number;
    fromBuffer(buffer: Uint8Array): unknown;
    toBuffer(value: unknown): Uint8Array;
  }
  export class Number extends Base {
    constructor(type: string, endian?: "BE" | "LE");
  }
  export const uint8: Number;
  export const uint16le: Number;
  export const uint32le: Number;
  export const int32le: Number;
  export class Struct extends Base {
    constructor(fields: Record<string, RType>);
  }
  type Length = number | string | Number | ((this: unknown, parent: unknown) => number);
  export class Array extends Base {
    constructor(type: RType, length?: Length, lengthType?: "count" | "bytes");
  }
  export class String extends Base {
    constructor(length?: Length | null, encoding?: string);
  }
  export class Reserved extends Base {
    constructor(type: RType, count?: Length);
  }
}
