/**
 * Path templates of `google.api.http` rules (google/api/http.proto):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * `{var}` is `{var=*}`. `*` matches one path segment, `**` the rest of the
 * path (it must come last). Matching works on the raw (still
 * percent-encoded) path split at "/", so an encoded slash (%2F) stays inside
 * its segment. A variable of one segment is fully percent-decoded; a
 * variable of several segments is decoded except %2F, which the rules keep
 * so that its slashes stay distinguishable. Empty segments match nothing,
 * and a path that is not valid percent-encoded UTF-8 matches nothing.
 */

type Segment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "one" } // *
  | { readonly kind: "rest" }; // **

interface Variable {
  readonly fieldPath: string;
  /** Index of its first segment. */
  readonly start: number;
  /** Index after its last segment; for a trailing `**`, the end of the path. */
  readonly end: number;
}

/** A compiled path template. */
export interface PathTemplate {
  readonly template: string;
  /** The field paths the variables bind (`user_id`, `a.b`), in order. */
  readonly fieldPaths: readonly string[];
  /**
   * Orders overlapping templates: compared element by element, higher
   * first, so `/a/literal` wins over `/a/{id}`, which wins over `/a/{p=**}`.
   */
  readonly rank: readonly number[];
  /** The variables' values if the raw URL path (no query) matches, else undefined. */
  match(path: string): ReadonlyMap<string, string> | undefined;
}

/** A template that does not follow the grammar; thrown at start-up. */
export class PathTemplateError extends Error {}

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const LITERAL = /^[^/{}*:=]+$/;

/** Parses a template; throws PathTemplateError if it is not valid. */
export function compile(template: string): PathTemplate {
  const fail = (why: string): never => {
    throw new PathTemplateError(`path template "${template}": ${why}`);
  };
  if (!template.startsWith("/")) fail("must start with /");
  const { body, verb } = splitVerb(template);
  if (verb !== undefined && !LITERAL.test(verb)) fail("bad verb");

  const segments: Segment[] = [];
  const variables: Variable[] = [];
  const parseSegment = (text: string): Segment => {
    if (text === "*") return { kind: "one" };
    if (text === "**") return { kind: "rest" };
    if (!LITERAL.test(text)) fail(`bad segment "${text}"`);
    return { kind: "literal", value: text };
  };

  let i = 1;
  while (i <= body.length) {
    if (body[i] === "{") {
      const close = body.indexOf("}", i);
      if (close < 0) fail("unclosed {");
      const inner = body.slice(i + 1, close);
      if (inner.includes("{")) fail("nested variables");
      const eq = inner.indexOf("=");
      const fieldPath = eq < 0 ? inner : inner.slice(0, eq);
      if (!FIELD_PATH.test(fieldPath)) fail(`bad field path "${fieldPath}"`);
      if (variables.some((v) => v.fieldPath === fieldPath)) fail(`"${fieldPath}" bound twice`);
      const start = segments.length;
      for (const part of eq < 0 ? ["*"] : inner.slice(eq + 1).split("/")) segments.push(parseSegment(part));
      variables.push({ fieldPath, start, end: segments.length });
      i = close + 1;
    } else {
      const slash = body.indexOf("/", i);
      const end = slash < 0 ? body.length : slash;
      segments.push(parseSegment(body.slice(i, end)));
      i = end;
    }
    if (i === body.length) break;
    if (body[i] !== "/") fail(`unexpected "${body[i]}"`);
    i += 1;
    if (i === body.length) fail("trailing /");
  }
  const restAt = segments.findIndex((s) => s.kind === "rest");
  if (restAt >= 0 && restAt !== segments.length - 1) fail("** must be the last segment");

  const rank = segments.map((s) => (s.kind === "literal" ? 2 : s.kind === "one" ? 1 : 0));
  return {
    template,
    fieldPaths: variables.map((v) => v.fieldPath),
    rank,
    match: (path) => match(path, segments, variables, verb, restAt >= 0),
  };
}

/** The verb is a ":" after the last "/" and the last "}" (a variable may hold neither). */
function splitVerb(template: string): { body: string; verb?: string } {
  const after = Math.max(template.lastIndexOf("/"), template.lastIndexOf("}"));
  const colon = template.indexOf(":", after);
  return colon < 0 ? { body: template } : { body: template.slice(0, colon), verb: template.slice(colon + 1) };
}

function match(
  path: string,
  segments: readonly Segment[],
  variables: readonly Variable[],
  verb: string | undefined,
  endsWithRest: boolean,
): ReadonlyMap<string, string> | undefined {
  if (!path.startsWith("/")) return undefined;
  let raw = path.slice(1);
  if (verb !== undefined) {
    if (!raw.endsWith(`:${verb}`)) return undefined;
    raw = raw.slice(0, -(verb.length + 1));
  }
  const parts = raw === "" ? [] : raw.split("/");
  if (parts.some((p) => p === "")) return undefined;
  if (endsWithRest ? parts.length < segments.length - 1 : parts.length !== segments.length) return undefined;
  try {
    for (const [k, segment] of segments.entries()) {
      if (segment.kind === "literal" && decodeURIComponent(parts[k] ?? "") !== segment.value) return undefined;
    }
    const values = new Map<string, string>();
    for (const v of variables) {
      const end = endsWithRest && v.end === segments.length ? parts.length : v.end;
      const taken = parts.slice(v.start, end);
      const single = v.end - v.start === 1 && segments[v.start]?.kind !== "rest";
      values.set(v.fieldPath, single ? decodeURIComponent(taken[0] ?? "") : decodeKeepingSlashes(taken.join("/")));
    }
    return values;
  } catch {
    // decodeURIComponent: a malformed escape or bytes that are not UTF-8.
    return undefined;
  }
}

/** Percent-decodes everything except an encoded slash. */
const decodeKeepingSlashes = (raw: string): string =>
  raw
    .split(/%2F/i)
    .map((part) => decodeURIComponent(part))
    .join("%2F");
