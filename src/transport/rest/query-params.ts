import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import {
  canonicalPath,
  isStringSettable,
  RequestFieldError,
  resolveFieldPath,
  setFromStrings,
} from "./request-fields.js";

/**
 * The request fields a REST route takes from elsewhere than the query
 * string: "all" when the whole message is the body (`body: "*"`), otherwise
 * the canonical field paths its path variables bind.
 */
export type BoundFields = "all" | readonly string[];

/**
 * Sets request fields from a URL query string by the `google.api.http`
 * rules: every field not bound by the path or the body is a parameter,
 * named by its field path (`page_size`, or `pageSize`; `a.b` for a field of
 * a nested message). A repeated field takes the parameter repeated
 * (`roles=a&roles=b`); any other field takes it once. Values are converted
 * by field kind (see request-fields.ts). A parameter that names no such
 * field (unknown, bound by the path, a map or a message) is an error, so a
 * misspelt parameter never passes silently.
 *
 * @param query the part of the URL after "?", still encoded.
 * @throws RequestFieldError naming the first parameter that does not fit.
 */
export function applyQueryParameters(desc: DescMessage, message: Message, query: string, bound: BoundFields): void {
  const byField = new Map<string, { name: string; fields: DescField[]; values: string[] }>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (bound === "all") throw new RequestFieldError(name, "unknown query parameter: this route takes none");
    const fields = resolveFieldPath(desc, name);
    const leaf = fields?.at(-1);
    if (fields === undefined || leaf === undefined || !isStringSettable(leaf)) {
      throw new RequestFieldError(name, "unknown query parameter");
    }
    const path = canonicalPath(fields);
    if (bound.some((b) => overlaps(b, path))) throw new RequestFieldError(name, "set by the URL path, not the query");
    const entry = byField.get(path);
    if (entry === undefined) byField.set(path, { name, fields, values: [value] });
    else entry.values.push(value);
  }
  for (const { name, fields, values } of byField.values()) setFromStrings(message, desc, fields, values, name);
}

/** True if one path is the other or lies inside it (`a` and `a.b`). */
const overlaps = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
