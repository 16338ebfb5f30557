/** Every target of every revision, and the one target per implementation the long pass runs. */
import { loadRevisions } from "./revisions.js";
import { targetsOf, type Target } from "./targets.js";

export interface TargetGroup {
  /** The target fuzzed. */
  readonly target: Target;
  /** Targets of other revisions with the same generated implementation (they share its figures). */
  readonly same: string[];
}

export async function allTargets(revisions?: readonly string[]): Promise<Target[]> {
  const revs = await loadRevisions(revisions);
  return revs.flatMap(targetsOf);
}

/** Targets matching `only` (`v7/*`, `*\/request`, an exact id; comma-separated), grouped by implementation unless `every`. */
export async function selectTargets(
  only: string | undefined,
  every: boolean,
): Promise<TargetGroup[]> {
  const patterns = (only ?? "*")
    .split(",")
    .filter(Boolean)
    .map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`));
  const all = (await allTargets()).filter((t) => patterns.some((re) => re.test(t.id)));
  const groups = new Map<string, TargetGroup>();
  for (const t of all) {
    const key = every ? t.id : t.impl;
    const g = groups.get(key);
    if (g) g.same.push(t.id);
    else groups.set(key, { target: t, same: [] });
  }
  return [...groups.values()];
}
