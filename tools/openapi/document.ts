import {
  type DescExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  getOption,
  hasOption,
  isMessage,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";
import { ERROR_TABLE } from "../../src/transport/errors.js";
import { compile } from "../../src/transport/rest/path-template.js";
import { isStringSettable } from "../../src/transport/rest/request-fields.js";

export interface DocumentOptions {
  readonly version: string;
}

/** The parts of a google.api.HttpRule this generator reads. */
interface HttpRuleJson {
  readonly get?: string;
  readonly post?: string;
  readonly put?: string;
  readonly patch?: string;
  readonly delete?: string;
  readonly body?: string;
}

const VERBS = ["get", "post", "put", "patch", "delete"] as const;

/**
 * A proto comment as Markdown: the leading space of each line removed, and
 * the `buf:lint:ignore` directives, which are for buf, not for readers.
 */
const commentOf = (desc: Parameters<typeof getComments>[0]): string =>
  (getComments(desc).leading ?? "")
    .split("\n")
    .map((l) => l.replace(/^ /, "").trimEnd())
    .filter((l) => !l.startsWith("buf:lint:ignore"))
    .join("\n")
    .trim();

/**
 * Whether a method needs `authorization: Bearer <access token>`, from the
 * "Auth:" line its proto comment must have: "Auth: none..." for public
 * RPCs, anything else ("Auth: access token...") for protected ones. Reading
 * the documented rule keeps the OpenAPI security next to the prose a
 * reader sees; a method without the line fails the generation, so none is
 * forgotten.
 */
export function needsBearer(method: DescMethod): boolean {
  const line = /^Auth:[ \t]*(.*)$/m.exec(commentOf(method));
  if (line === null) {
    throw new Error(`${method.parent.typeName}.${method.name}: the proto comment needs an "Auth:" line`);
  }
  return !/^none\b/i.test(line[1] ?? "");
}

const firstSentence = (text: string): string => {
  const flat = text.replace(/\s+/g, " ");
  const end = flat.search(/[.:](\s|$)/);
  return end < 0 ? flat : flat.slice(0, end);
};

const ERROR_SCHEMA: JsonObject = {
  type: "object",
  description: "The body of every REST error. `request_id` equals the `x-request-id` response header.",
  required: ["error_code", "detail", "timestamp", "request_id"],
  properties: {
    error_code: {
      type: "string",
      description: "Stable error code (the google.rpc.ErrorInfo reason of the RPC).",
      enum: Object.keys(ERROR_TABLE),
    },
    detail: { type: "string", description: "Human-readable message; generic where detail would help an attacker." },
    timestamp: { type: "string", format: "date-time", description: "When the error was produced." },
    request_id: { type: "string", description: "The request id, as in the `x-request-id` header." },
    field_violations: {
      type: "array",
      description: "For VALIDATION_ERROR: which fields are wrong and why.",
      items: {
        type: "object",
        required: ["field", "description"],
        properties: { field: { type: "string" }, description: { type: "string" } },
      },
    },
  },
};

/** HTTP status → the error codes that produce it, from THE error table. */
function errorResponses(): Record<string, JsonObject> {
  const byStatus = new Map<number, string[]>();
  for (const [reason, { http }] of Object.entries(ERROR_TABLE))
    byStatus.set(http, [...(byStatus.get(http) ?? []), reason]);
  const out: Record<string, JsonObject> = {};
  for (const [status, reasons] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: `error_code ${reasons.join(", ")}`,
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return out;
}

/** JSON Schema of a field in the proto3 JSON mapping, with proto field names. */
function fieldSchema(field: DescField, refs: Set<DescMessage>): JsonObject {
  const description = commentOf(field);
  const alias = field.jsonName !== field.name ? ` Also accepted as \`${field.jsonName}\`.` : "";
  const withDoc = (s: JsonObject): JsonObject => ({
    ...s,
    ...(description || alias ? { description: description + alias } : {}),
  });
  switch (field.fieldKind) {
    case "scalar":
      return withDoc(scalarSchema(field.scalar));
    case "enum":
      return withDoc({ type: "string", enum: field.enum.values.map((v) => v.name) });
    case "message":
      return withDoc(messageRef(field.message, refs));
    case "list":
      return withDoc({
        type: "array",
        items:
          field.listKind === "scalar"
            ? scalarSchema(field.scalar)
            : field.listKind === "enum"
              ? { type: "string", enum: field.enum.values.map((v) => v.name) }
              : messageRef(field.message, refs),
      });
    case "map":
      return withDoc({
        type: "object",
        additionalProperties:
          field.mapKind === "scalar"
            ? scalarSchema(field.scalar)
            : field.mapKind === "enum"
              ? { type: "string", enum: field.enum.values.map((v) => v.name) }
              : messageRef(field.message, refs),
      });
  }
}

function scalarSchema(t: ScalarType): JsonObject {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: "number" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "int64", minimum: 0 };
    default:
      // 64-bit integers are strings in the proto3 JSON mapping.
      return { type: "string", format: "int64" };
  }
}

function messageRef(message: DescMessage, refs: Set<DescMessage>): JsonObject {
  if (message.typeName === "google.protobuf.Timestamp") return { type: "string", format: "date-time" };
  if (message.typeName === "google.protobuf.Duration") return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]+)?s$" };
  refs.add(message);
  return { $ref: `#/components/schemas/${message.typeName}` };
}

function messageSchema(message: DescMessage, refs: Set<DescMessage>): JsonObject {
  const properties: Record<string, JsonValue> = {};
  for (const field of message.fields) properties[field.name] = fieldSchema(field, refs);
  const description = commentOf(message);
  return { type: "object", ...(description ? { description } : {}), properties };
}

/** An OpenAPI path from a google.api.http template: `{name=projects/*}` becomes `{name}`. */
const openApiPath = (template: string): string => template.replace(/\{([^}=]+)=[^}]*\}/g, "{$1}");

/** The schema of a value a path or query parameter carries. */
function parameterSchema(field: DescField): JsonObject {
  switch (field.fieldKind) {
    case "scalar":
      return scalarSchema(field.scalar);
    case "enum":
      return { type: "string", enum: field.enum.values.map((v) => v.name) };
    case "list":
      return {
        type: "array",
        items:
          field.listKind === "scalar"
            ? scalarSchema(field.scalar)
            : field.listKind === "enum"
              ? { type: "string", enum: field.enum.values.map((v) => v.name) }
              : {},
      };
    case "message":
      return messageRef(field.message, new Set());
    case "map":
      return { type: "object" };
  }
}

function parameter(field: DescField, name: string, where: "path" | "query"): JsonObject {
  const description = commentOf(field);
  const alias = where === "query" && field.jsonName !== field.name ? ` Also accepted as \`${field.jsonName}\`.` : "";
  const repeated = field.fieldKind === "list" ? " Repeat the parameter for several values." : "";
  const text = `${description}${alias}${repeated}`.trim();
  return {
    name,
    in: where,
    ...(where === "path" ? { required: true } : {}),
    ...(text ? { description: text } : {}),
    schema: parameterSchema(field),
    ...(field.fieldKind === "list" ? { style: "form", explode: true } : {}),
  };
}

/**
 * The query parameters of a route without a body, by the google.api.http
 * rules the REST layer applies (src/rest/query-params.ts): every field not
 * bound by the path that can take its value from a string, fields of nested
 * messages under dotted names.
 */
function queryParameters(
  message: DescMessage,
  bound: readonly string[],
  prefix = "",
  seen = new Set<string>(),
): JsonObject[] {
  if (seen.has(message.typeName)) return [];
  const inner = new Set([...seen, message.typeName]);
  return message.fields.flatMap((field) => {
    const path = prefix + field.name;
    if (bound.includes(path)) return [];
    if (field.fieldKind === "message" && !isStringSettable(field)) {
      return queryParameters(field.message, bound, `${path}.`, inner);
    }
    if (!isStringSettable(field) || bound.some((b) => b.startsWith(`${path}.`))) return [];
    return [parameter(field, path, "query")];
  });
}

/** The fields named by a path template's variables, with their names in the template. */
function pathParameters(method: DescMethod, template: string): JsonObject[] {
  return compile(template).fieldPaths.map((path) => {
    let message: DescMessage | undefined = method.input;
    let field: DescField | undefined;
    for (const name of path.split(".")) {
      field = message?.fields.find((f) => f.name === name || f.jsonName === name);
      message = field?.fieldKind === "message" ? field.message : undefined;
    }
    if (field === undefined) throw new Error(`${method.name}: path variable "${path}" names no field`);
    return parameter(field, path, "path");
  });
}

/** The JSON body of a `body: "*"` route: the request message without the fields the path binds. */
function bodySchema(method: DescMethod, bound: readonly string[], refs: Set<DescMessage>): JsonObject | undefined {
  if (bound.length === 0) return method.input.fields.length > 0 ? messageRef(method.input, refs) : undefined;
  const schema = messageSchema(method.input, refs);
  const properties = Object.fromEntries(
    Object.entries((schema.properties ?? {}) as JsonObject).filter(([name]) => !bound.includes(name)),
  );
  return Object.keys(properties).length > 0 ? { ...schema, properties } : undefined;
}

function httpRule(method: DescMethod, http: DescExtension): HttpRuleJson | undefined {
  if (!hasOption(method, http) || http.fieldKind !== "message") return undefined;
  // The extension is read dynamically from the request's own descriptors, so
  // the generator does not depend on code in gen/ (which buf is rewriting).
  const rule = getOption(method, http);
  return isMessage(rule, http.message) ? (toJson(http.message, rule) as HttpRuleJson) : undefined;
}

/**
 * The OpenAPI 3.1 document of the REST routes that `google.api.http`
 * annotations declare on the given services: request and response schemas
 * from the messages, the proto comments as descriptions, the error body and
 * statuses from the error table, path and query parameters by the
 * google.api.http rules, and bearer auth where the method's "Auth:" line
 * asks for it.
 */
export function buildOpenApiDocument(
  services: readonly DescService[],
  http: DescExtension,
  opts: DocumentOptions,
): JsonObject {
  const refs = new Set<DescMessage>();
  const paths: Record<string, Record<string, JsonValue>> = {};
  const errors = errorResponses();
  for (const service of services) {
    for (const method of service.methods) {
      const rule = httpRule(method, http);
      if (rule === undefined) continue;
      const verb = VERBS.find((v) => rule[v] !== undefined);
      const path = verb && rule[verb];
      if (verb === undefined || path === undefined) continue;
      const description = commentOf(method);
      const bound = compile(path).fieldPaths;
      const body = rule.body ? bodySchema(method, bound, refs) : undefined;
      const parameters = [...pathParameters(method, path), ...(rule.body ? [] : queryParameters(method.input, bound))];
      const operation: JsonObject = {
        operationId: `${service.name}_${method.name}`,
        tags: [service.name],
        summary: firstSentence(description) || method.name,
        description: `${description}\n\nRPC: \`${service.typeName}/${method.name}\`.`,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(body ? { requestBody: { required: true, content: { "application/json": { schema: body } } } } : {}),
        responses: {
          "200": {
            description: "OK",
            content: { "application/json": { schema: messageRef(method.output, refs) } },
          },
          ...errors,
        },
        ...(needsBearer(method) ? { security: [{ bearerAuth: [] }] } : {}),
      };
      const key = openApiPath(path);
      paths[key] = { ...(paths[key] ?? {}), [verb]: operation };
    }
  }
  const schemas: Record<string, JsonValue> = {};
  // Walk newly referenced messages until no new ones appear.
  for (let done = 0; done < refs.size; ) {
    const batch = [...refs].slice(done);
    done = refs.size;
    for (const m of batch) schemas[m.typeName] = messageSchema(m, refs);
  }
  schemas.Error = ERROR_SCHEMA;
  const sortedSchemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  const serviceDocs = services.map((s) => commentOf(s)).filter((d) => d !== "");
  const tags = services.map((s) => ({ name: s.name, description: firstSentence(commentOf(s)) || s.typeName }));
  return {
    openapi: "3.1.0",
    info: {
      title: services.map((s) => s.typeName).join(", "),
      version: opts.version,
      description: [
        ...serviceDocs,
        "REST routes of the service, declared by `google.api.http` annotations. Request bodies accept the proto field names (shown here) or lowerCamelCase; responses use the proto field names. Every response carries an `x-request-id` header.",
      ].join("\n\n"),
    },
    tags,
    paths,
    components: {
      schemas: sortedSchemas,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "An access token from register, login or refresh.",
        },
      },
    },
  };
}
