import type { HttpRule } from "./http-rules.js";

/** What a request's method and path select among the REST routes. */
export type RouteLookup =
  | { readonly kind: "match"; readonly rule: HttpRule; readonly variables: ReadonlyMap<string, string> }
  /** The path is a route, but not for this method: answer 405 with `Allow`. */
  | { readonly kind: "method-not-allowed"; readonly allowed: readonly string[] }
  | undefined;

/**
 * Finds the rule for a request. Templates may overlap
 * (`POST /account/sessions/revoke-others` and
 * `DELETE /account/sessions/{session_id}`): the rules whose template
 * matches the path are tried in order of specificity (literal segments
 * before variables, `*` before `**`), and the first with the request's
 * method wins. Two rules with the same method and the same template shape
 * are refused at start-up, since one of them could never be reached.
 */
export function createRouteTable(rules: readonly HttpRule[]): (method: string, path: string) => RouteLookup {
  const seen = new Map<string, HttpRule>();
  for (const rule of rules) {
    const key = `${rule.verb} ${shapeOf(rule.path)}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new Error(`REST routes ${other.method.name} and ${rule.method.name} both serve ${rule.verb} ${rule.path}`);
    }
    seen.set(key, rule);
  }
  const ordered = [...rules].sort((a, b) => compareRank(b.template.rank, a.template.rank));

  return (method, path) => {
    const allowed = new Set<string>();
    for (const rule of ordered) {
      const variables = rule.template.match(path);
      if (variables === undefined) continue;
      if (rule.verb === method) return { kind: "match", rule, variables };
      allowed.add(rule.verb);
    }
    return allowed.size > 0 ? { kind: "method-not-allowed", allowed: [...allowed] } : undefined;
  };
}

/** The template with each variable replaced by its pattern: `/a/{id}` and `/a/{x=*}` are both `/a/*`. */
const shapeOf = (template: string): string =>
  template.replace(/\{[^}=]*(?:=([^}]*))?\}/g, (_, pattern: string | undefined) => pattern ?? "*");

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
