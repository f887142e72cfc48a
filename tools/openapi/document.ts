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

export interface DocumentOptions {
  /** Full names of the methods that need `authorization: Bearer <access token>`. */
  readonly bearerMethods: ReadonlySet<string>;
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

/** A proto comment as Markdown: the leading space of each line removed. */
const commentOf = (desc: Parameters<typeof getComments>[0]): string =>
  (getComments(desc).leading ?? "")
    .split("\n")
    .map((l) => l.replace(/^ /, "").trimEnd())
    .join("\n")
    .trim();

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
 * statuses from the error table, and bearer auth where the method needs it.
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
      const fullName = `${service.typeName}.${method.name}`;
      const operation: JsonObject = {
        operationId: `${service.name}_${method.name}`,
        tags: [service.name],
        summary: firstSentence(description) || method.name,
        description: `${description}\n\nRPC: \`${service.typeName}/${method.name}\`.`,
        ...(rule.body
          ? {
              requestBody: {
                required: true,
                content: { "application/json": { schema: messageRef(method.input, refs) } },
              },
            }
          : {}),
        responses: {
          "200": {
            description: "OK",
            content: { "application/json": { schema: messageRef(method.output, refs) } },
          },
          ...errors,
        },
        ...(opts.bearerMethods.has(fullName) ? { security: [{ bearerAuth: [] }] } : {}),
      };
      paths[path] = { ...(paths[path] ?? {}), [verb]: operation };
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
