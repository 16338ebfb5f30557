/**
 * The ABI facts of each target that decide struct layout and the types of
 * constant expressions. Only these differ between the targets fuse-uapi knows:
 * i386's System V ABI aligns 8-byte integers to 4 inside structs, and ILP32 makes
 * `long`, pointers and `size_t` 4 bytes wide.
 */
import type { IntName, Target } from "../model.js";

export interface TargetInfo {
  name: Target;
  /** Width of `long` and `unsigned long`. */
  longBits: 32 | 64;
  pointerSize: 4 | 8;
  /** Alignment of 8-byte scalars (uint64_t, long long, double) as struct members. */
  int64Align: 4 | 8;
  /** How to ask a C compiler for this target (see generator/check). */
  compiler: { command: string; args: string[] };
}

export const TARGET_INFO: Record<Target, TargetInfo> = {
  x86_64: {
    name: "x86_64",
    longBits: 64,
    pointerSize: 8,
    int64Align: 8,
    compiler: { command: "cc", args: [] },
  },
  i386: {
    name: "i386",
    longBits: 32,
    pointerSize: 4,
    int64Align: 4,
    compiler: { command: "cc", args: ["-m32"] },
  },
  aarch64: {
    name: "aarch64",
    longBits: 64,
    pointerSize: 8,
    int64Align: 8,
    compiler: { command: "aarch64-linux-gnu-gcc", args: [] },
  },
};

export function intSize(name: IntName): number {
  return Number(name.replace(/\D/g, "")) / 8;
}

/** Alignment of a fixed-width integer as a struct member on a target. */
export function intAlign(name: IntName, target: TargetInfo): number {
  const size = intSize(name);
  return size === 8 ? target.int64Align : size;
}
