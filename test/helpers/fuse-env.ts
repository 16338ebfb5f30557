/**
 * Why a real FUSE mount cannot be tested on this machine, shared by the
 * end-to-end tests so every one of them gives the same reasons (and, under
 * CI, fails on the same ones through skipOrFail).
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";

/**
 * Undefined when mounts can be tested here; otherwise the reason, naming what
 * to install or enable. `tools` are commands the test runs besides the mount.
 */
export function whyNoFuseMount(
  tools: readonly { command: string; hint: string }[] = [],
): string | undefined {
  if (process.platform !== "linux") return "FUSE mounts need Linux";
  if (process.getuid?.() !== 0) return "mounting needs root (mount(2) with -o fd=): run as root";
  if (!existsSync("/dev/fuse"))
    return "/dev/fuse is missing (modprobe fuse; in a container: --device /dev/fuse)";
  try {
    closeSync(openSync("/dev/fuse", "r+"));
  } catch (err) {
    return `cannot open /dev/fuse: ${(err as NodeJS.ErrnoException).code}`;
  }
  for (const { command, hint } of tools) {
    // `command -v` through sh: the tool may be a shell builtin or anywhere on PATH.
    if (spawnSync("sh", ["-c", `command -v ${command}`]).status !== 0)
      return `${command} missing: ${hint}`;
  }
  return undefined;
}
