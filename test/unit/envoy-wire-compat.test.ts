import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  clone,
  createFileRegistry,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  ScalarType,
} from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  file_google_protobuf_any,
  file_google_protobuf_struct,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { file_envoy_config_core_v3_address } from "../../gen/envoy/config/core/v3/address_pb.js";
import { file_envoy_config_core_v3_base } from "../../gen/envoy/config/core/v3/base_pb.js";
import { file_envoy_service_auth_v3_attribute_context } from "../../gen/envoy/service/auth/v3/attribute_context_pb.js";
import { file_envoy_service_auth_v3_external_auth } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { file_envoy_type_v3_http_status } from "../../gen/envoy/type/v3/http_status_pb.js";

/**
 * proto/envoy is a hand-stripped copy of Envoy's ext_authz protos. Envoy
 * only interoperates if every vendored field has upstream's number and wire
 * type, so the generated descriptors are compared, field by field, with a
 * record of upstream's definitions taken from the upstream .proto text
 * (test/fixtures/envoy-upstream/ext-authz-v3.json).
 */

interface FieldRecord {
  readonly number: number;
  readonly type: string;
  readonly oneof?: string;
}
interface UpstreamRecord {
  readonly services: Record<string, Record<string, { kind: string; input: string; output: string }>>;
  readonly messages: Record<string, Record<string, FieldRecord>>;
  readonly enums: Record<string, Record<string, number>>;
}

const upstream = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "envoy-upstream", "ext-authz-v3.json"), "utf8"),
) as UpstreamRecord;

const VENDORED: readonly DescFile[] = [
  file_envoy_service_auth_v3_external_auth,
  file_envoy_service_auth_v3_attribute_context,
  file_envoy_config_core_v3_base,
  file_envoy_config_core_v3_address,
  file_envoy_type_v3_http_status,
];

const scalarName = (t: ScalarType): string => ScalarType[t].toLowerCase();

/** The field's type as a .proto file writes it, with fully qualified names. */
function typeOf(f: DescField): string {
  switch (f.fieldKind) {
    case "scalar":
      return scalarName(f.scalar);
    case "enum":
      return f.enum.typeName;
    case "message":
      return f.message.typeName;
    case "list":
      return `repeated ${f.listKind === "scalar" ? scalarName(f.scalar) : f.listKind === "enum" ? f.enum.typeName : f.message.typeName}`;
    case "map":
      return `map<${scalarName(f.mapKey)}, ${f.mapKind === "scalar" ? scalarName(f.scalar) : f.mapKind === "enum" ? f.enum.typeName : f.message.typeName}>`;
  }
}

function fieldsOf(m: DescMessage): Record<string, FieldRecord> {
  return Object.fromEntries(
    m.fields.map((f) => [
      f.name,
      { number: f.number, type: typeOf(f), ...(f.oneof === undefined ? {} : { oneof: f.oneof.name }) },
    ]),
  );
}

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

function allEnums(file: DescFile): DescEnum[] {
  return [...file.enums, ...allMessages(file.messages).flatMap((m) => m.nestedEnums)];
}

const vendoredMessages = VENDORED.flatMap((f) => allMessages(f.messages));

describe("vendored Envoy ext_authz protos against upstream", () => {
  it("when the vendored files are read, then their packages are upstream's", () => {
    expect(VENDORED.map((f) => f.proto.package)).toEqual([
      "envoy.service.auth.v3",
      "envoy.service.auth.v3",
      "envoy.config.core.v3",
      "envoy.config.core.v3",
      "envoy.type.v3",
    ]);
  });

  it("when every vendored message is compared, then each field has upstream's name, number, type and oneof", () => {
    const ours = Object.fromEntries(vendoredMessages.map((m) => [m.typeName, fieldsOf(m)]));
    // One expectation per message, so a failure names the message.
    for (const [name, fields] of Object.entries(ours)) expect(fields, name).toEqual(upstream.messages[name]);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(upstream.messages).sort());
  });

  it("when every vendored enum is compared, then it has upstream's values and numbers", () => {
    const ours = Object.fromEntries(
      VENDORED.flatMap(allEnums).map((e) => [e.typeName, Object.fromEntries(e.values.map((v) => [v.name, v.number]))]),
    );
    expect(ours).toEqual(upstream.enums);
  });

  it("when the service is compared, then Authorization/Check has upstream's name, kind and types", () => {
    const ours = Object.fromEntries(
      VENDORED.flatMap((f) => f.services).map((s) => [
        s.typeName,
        Object.fromEntries(
          s.methods.map((m) => [m.name, { kind: m.methodKind, input: m.input.typeName, output: m.output.typeName }]),
        ),
      ]),
    );
    expect(ours).toEqual(upstream.services);
  });

  it("when a vendored message referred to a type outside the record, then that type is a well-known or google.rpc one", () => {
    const recorded = new Set([...Object.keys(upstream.messages), ...Object.keys(upstream.enums)]);
    const referenced = vendoredMessages.flatMap((m) =>
      m.fields.flatMap((f) => (f.message ? [f.message.typeName] : f.enum ? [f.enum.typeName] : [])),
    );
    const outside = [...new Set(referenced.filter((t) => !recorded.has(t)))].sort();
    expect(outside).toEqual([
      "google.protobuf.Any",
      "google.protobuf.BoolValue",
      "google.protobuf.Struct",
      "google.protobuf.Timestamp",
      "google.rpc.Status",
    ]);
  });

  it("when a vendored field number is changed, then the comparison reports it", () => {
    // Proves the check can fail: the same comparison on a copy of base.proto
    // whose HeaderValueOption.append_action moved from 3 to 5.
    const proto = clone(FileDescriptorProtoSchema, file_envoy_config_core_v3_base.proto);
    const field = proto.messageType
      .find((m) => m.name === "HeaderValueOption")
      ?.field.find((f) => f.name === "append_action");
    if (field === undefined) throw new Error("append_action not found");
    field.number = 5;
    const deps = [file_google_protobuf_any, file_google_protobuf_struct, file_google_protobuf_wrappers];
    const registry = createFileRegistry(proto, (name) => deps.find((d) => d.proto.name === name));
    const changed = registry.getMessage("envoy.config.core.v3.HeaderValueOption");
    if (changed === undefined) throw new Error("HeaderValueOption not found");
    const name = "envoy.config.core.v3.HeaderValueOption";
    expect(fieldsOf(changed)).not.toEqual(upstream.messages[name]);
    expect(fieldsOf(changed).append_action?.number).toBe(5);
  });
});
