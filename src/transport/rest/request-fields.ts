import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromJson,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { base64Decode } from "@bufbuild/protobuf/wire";

/**
 * Request fields set from strings: the path variables and query parameters
 * of REST routes. Values are converted by field kind the way the proto3 JSON
 * mapping spells them (numbers in decimal, 64-bit integers too, bools as
 * `true`/`false`, enums by name or number, bytes as base64), strictly: a
 * value that does not fit its field is an error naming the field, never a
 * silent zero.
 */

/** A value or name that does not fit the request message; the REST layer answers 400. */
export class RequestFieldError extends Error {
  constructor(
    /** The parameter as the client spelled it. */
    readonly field: string,
    readonly description: string,
  ) {
    super(`${field}: ${description}`);
  }
}

/** Well-known types whose JSON form is one string, so one parameter can carry them. */
const STRING_WKTS = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"]);

/**
 * The fields a dotted path (`a.b.c`) walks through, each segment in proto
 * (`page_size`) or JSON (`pageSize`) spelling; undefined if a segment names
 * no field or a non-final segment is not a singular message field.
 */
export function resolveFieldPath(desc: DescMessage, path: string): DescField[] | undefined {
  const fields: DescField[] = [];
  let message: DescMessage | undefined = desc;
  for (const name of path.split(".")) {
    if (message === undefined) return undefined;
    const field: DescField | undefined = message.fields.find((f) => f.name === name || f.jsonName === name);
    if (field === undefined) return undefined;
    fields.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

/** The canonical (proto name) spelling of a resolved field path. */
export const canonicalPath = (fields: readonly DescField[]): string => fields.map((f) => f.name).join(".");

/**
 * True if a field can take its value from strings: a scalar or enum field,
 * a list of them, or a well-known type with a string JSON form. Maps and
 * other messages cannot.
 */
export function isStringSettable(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return true;
    case "list":
      return field.listKind !== "message";
    case "message":
      return STRING_WKTS.has(field.message.typeName);
    case "map":
      return false;
  }
}

/**
 * Sets the field at the end of `fields` (from resolveFieldPath) on the
 * message, creating the messages on the way. A list field gets every value
 * appended; any other field takes exactly one value.
 */
export function setFromStrings(
  message: Message,
  desc: DescMessage,
  fields: readonly DescField[],
  values: readonly string[],
  name: string,
): void {
  const leaf = fields.at(-1);
  if (leaf === undefined || !isStringSettable(leaf)) {
    throw new RequestFieldError(name, "cannot be set from a string");
  }
  let target: ReflectMessage = reflect(desc, message);
  for (const f of fields.slice(0, -1)) {
    if (f.fieldKind !== "message") throw new RequestFieldError(name, "cannot be set from a string");
    if (!target.isSet(f)) target.set(f, reflect(f.message));
    target = target.get(f);
  }
  if (leaf.oneof !== undefined) {
    const chosen = target.oneofCase(leaf.oneof);
    if (chosen !== undefined && chosen !== leaf) {
      throw new RequestFieldError(name, `only one of ${leaf.oneof.fields.map((f) => f.name).join(", ")} can be set`);
    }
  }
  if (leaf.fieldKind === "list") {
    const list = target.get(leaf);
    for (const v of values) {
      if (leaf.listKind === "enum") list.add(enumValue(leaf.enum, v, name));
      else if (leaf.listKind === "scalar") list.add(scalarValue(leaf.scalar, v, name));
    }
    return;
  }
  if (values.length !== 1) throw new RequestFieldError(name, "must be given once");
  const value = values[0] ?? "";
  switch (leaf.fieldKind) {
    case "scalar":
      target.set(leaf, scalarValue(leaf.scalar, value, name));
      return;
    case "enum":
      target.set(leaf, enumValue(leaf.enum, value, name));
      return;
    case "message":
      target.set(leaf, reflect(leaf.message, wktFromString(leaf.message, value, name)));
      return;
    case "map":
      throw new RequestFieldError(name, "cannot be set from a string");
  }
}

function wktFromString(desc: DescMessage, value: string, name: string): Message {
  try {
    return fromJson(desc, value);
  } catch {
    throw new RequestFieldError(name, `must be a ${desc.typeName} in its JSON form`);
  }
}

const INT = /^-?[0-9]+$/;
const UINT = /^[0-9]+$/;
const FLOAT = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*={0,2})$/;
const FLOAT_MAX = 3.4028234663852886e38;

/** An integer in [min, max] written in decimal, or an error naming the type. */
function integer(v: string, signed: boolean, bits: 32n | 64n, name: string): bigint {
  const min = signed ? -(2n ** (bits - 1n)) : 0n;
  const max = signed ? 2n ** (bits - 1n) - 1n : 2n ** bits - 1n;
  const n = (signed ? INT : UINT).test(v) ? BigInt(v) : undefined;
  if (n === undefined || n < min || n > max) {
    throw new RequestFieldError(name, `must be ${signed ? "an" : "a"} ${signed ? "" : "u"}int${bits} in decimal`);
  }
  return n;
}

/** A scalar in the form ReflectMessage.set expects (bigint for 64-bit integers). */
function scalarValue(type: ScalarType, v: string, name: string): string | number | bigint | boolean | Uint8Array {
  const bad = (what: string): never => {
    throw new RequestFieldError(name, `must be ${what}`);
  };
  switch (type) {
    case ScalarType.STRING:
      return v;
    case ScalarType.BOOL:
      return v === "true" ? true : v === "false" ? false : bad("true or false");
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return Number(integer(v, true, 32n, name));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return Number(integer(v, false, 32n, name));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return integer(v, true, 64n, name);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return integer(v, false, 64n, name);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      const special = v === "NaN" || v === "Infinity" || v === "-Infinity";
      const n = special || FLOAT.test(v) ? Number(v) : Number.NaN;
      if (!special && !Number.isFinite(n)) bad("a number");
      if (type === ScalarType.FLOAT && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) bad("a float");
      return n;
    }
    case ScalarType.BYTES:
      return BASE64.test(v) ? base64Decode(v) : bad("base64");
  }
}

function enumValue(desc: DescEnum, v: string, name: string): number {
  const byName = desc.values.find((x) => x.name === v);
  if (byName) return byName.number;
  const n = INT.test(v) ? BigInt(v) : undefined;
  const fits = n !== undefined && n >= -(2n ** 31n) && n < 2n ** 31n;
  // Open (proto3) enums keep unknown numbers, as the binary format does.
  if (fits && (desc.open || desc.values.some((x) => BigInt(x.number) === n))) return Number(n);
  throw new RequestFieldError(name, `must be one of ${desc.values.map((x) => x.name).join(", ")}`);
}

/**
 * Sets the fields bound by a matched path template (field path → decoded
 * value). Each path variable names a singular field (checked when the
 * rules are read), so it takes exactly its one value.
 */
export function applyPathVariables(desc: DescMessage, message: Message, variables: ReadonlyMap<string, string>): void {
  for (const [path, value] of variables) {
    const fields = resolveFieldPath(desc, path);
    if (fields === undefined) throw new RequestFieldError(path, "unknown field");
    setFromStrings(message, desc, fields, [value], path);
  }
}
