import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetUserRequestSchema, ListUsersRequestSchema, SetUserRolesRequestSchema } from "../../gen/auth/v1/admin_pb.js";
import { PipeSchema, SocketAddressSchema } from "../../gen/envoy/config/core/v3/address_pb.js";
import { AttributeContextSchema } from "../../gen/envoy/service/auth/v3/attribute_context_pb.js";
import { applyQueryParameters, type BoundFields } from "../../src/transport/rest/query-params.js";
import { applyPathVariables, RequestFieldError } from "../../src/transport/rest/request-fields.js";

/** The request message after the query string, or the error it raised. */
function parse<Desc extends DescMessage>(desc: Desc, query: string, bound: BoundFields = []): MessageShape<Desc> {
  const message = create(desc);
  applyQueryParameters(desc, message, query, bound);
  return message;
}

function refusal(desc: DescMessage, query: string, bound: BoundFields = []): { field: string; description: string } {
  try {
    applyQueryParameters(desc, create(desc), query, bound);
  } catch (e) {
    if (e instanceof RequestFieldError) return { field: e.field, description: e.description };
    throw e;
  }
  throw new Error(`"${query}" was accepted`);
}

describe("query parameters to request fields", () => {
  it("when ListUsers' parameters are given, then each field gets its value, decoded", () => {
    expect(parse(ListUsersRequestSchema, "page_size=25&page_token=abc%3D&query=Al+ice%21")).toMatchObject({
      pageSize: 25,
      pageToken: "abc=",
      query: "Al ice!",
    });
    expect(parse(ListUsersRequestSchema, "")).toMatchObject({ pageSize: 0, pageToken: "", query: "" });
    expect(parse(ListUsersRequestSchema, "query=").query).toBe("");
  });

  it("when a parameter uses the lowerCamelCase name, then it is accepted, but not together with the proto name", () => {
    expect(parse(ListUsersRequestSchema, "pageSize=5&pageToken=t").pageSize).toBe(5);
    expect(refusal(ListUsersRequestSchema, "page_size=1&pageSize=2")).toEqual({
      field: "page_size",
      description: "must be given once",
    });
  });

  it("when a parameter names no field, then it is refused by name", () => {
    expect(refusal(ListUsersRequestSchema, "page_size=1&pagesize=2")).toEqual({
      field: "pagesize",
      description: "unknown query parameter",
    });
    expect(refusal(ListUsersRequestSchema, "=x").description).toBe("unknown query parameter");
    expect(refusal(ListUsersRequestSchema, "query.x=1").field).toBe("query.x");
  });

  it("when the whole message is the body, then every query parameter is refused", () => {
    expect(refusal(SetUserRolesRequestSchema, "roles=admin", "all")).toEqual({
      field: "roles",
      description: "unknown query parameter: this route takes none",
    });
    expect(parse(SetUserRolesRequestSchema, "", "all").roles).toEqual([]);
  });

  it("when a field is bound by the path, then the query cannot set it", () => {
    expect(refusal(SetUserRolesRequestSchema, "user_id=other", ["user_id"])).toEqual({
      field: "user_id",
      description: "set by the URL path, not the query",
    });
    expect(refusal(SetUserRolesRequestSchema, "userId=other", ["user_id"]).field).toBe("userId");
  });

  it("when a repeated field's parameter is repeated, then every value is kept in order", () => {
    expect(parse(SetUserRolesRequestSchema, "roles=b&roles=a&roles=b", ["user_id"]).roles).toEqual(["b", "a", "b"]);
    expect(refusal(ListUsersRequestSchema, "query=a&query=b")).toEqual({
      field: "query",
      description: "must be given once",
    });
  });

  it.each([
    ["2147483647", 2147483647],
    ["-2147483648", -2147483648],
    ["007", 7],
    ["-0", 0],
  ])("when an int32 parameter is %s, then it is %d", (raw, value) => {
    expect(parse(ListUsersRequestSchema, `page_size=${raw}`).pageSize).toBe(value);
  });

  it.each(["2147483648", "-2147483649", "99999999999999999999", "1.5", "1e3", "", "%205", "+5", "0x10", "five"])(
    "when an int32 parameter is %j, then it is refused",
    (raw) => {
      expect(refusal(ListUsersRequestSchema, `page_size=${raw}`)).toEqual({
        field: "page_size",
        description: "must be an int32 in decimal",
      });
    },
  );

  it("when a uint32 parameter is out of range, then it is refused", () => {
    expect(parse(PipeSchema, "mode=4294967295").mode).toBe(4294967295);
    expect(refusal(PipeSchema, "mode=4294967296").description).toBe("must be a uint32 in decimal");
    expect(refusal(PipeSchema, "mode=-1").description).toBe("must be a uint32 in decimal");
  });

  it("when a bool parameter is spelt true or false, then it is accepted, and any other spelling refused", () => {
    expect(parse(SocketAddressSchema, "ipv4_compat=true").ipv4Compat).toBe(true);
    expect(parse(SocketAddressSchema, "ipv4_compat=false").ipv4Compat).toBe(false);
    for (const raw of ["True", "TRUE", "1", "0", "yes", "", "t"]) {
      expect(refusal(SocketAddressSchema, `ipv4_compat=${raw}`), raw).toEqual({
        field: "ipv4_compat",
        description: "must be true or false",
      });
    }
  });

  it("when an enum parameter is a value name or a number, then it is accepted; another name is refused", () => {
    expect(parse(SocketAddressSchema, "protocol=UDP").protocol).toBe(1);
    expect(parse(SocketAddressSchema, "protocol=1").protocol).toBe(1);
    // proto3 enums are open: an unknown number is kept, as on the binary wire.
    expect(parse(SocketAddressSchema, "protocol=7").protocol).toBe(7);
    expect(refusal(SocketAddressSchema, "protocol=udp")).toEqual({
      field: "protocol",
      description: "must be one of TCP, UDP",
    });
    expect(refusal(SocketAddressSchema, "protocol=4294967296").field).toBe("protocol");
  });

  it("when two members of a oneof are given, then the second is refused", () => {
    expect(parse(SocketAddressSchema, "port_value=8080").portSpecifier).toEqual({ case: "portValue", value: 8080 });
    expect(refusal(SocketAddressSchema, "port_value=80&named_port=http")).toEqual({
      field: "named_port",
      description: "only one of port_value, named_port can be set",
    });
  });

  it("when a parameter names a field of a nested message, then the messages on the way are created", () => {
    const ctx = parse(
      AttributeContextSchema,
      "request.http.method=GET&request.http.size=-1&request.http.raw_body=aGk&request.time=2026-01-02T03:04:05Z",
    );
    expect(ctx.request?.http?.method).toBe("GET");
    expect(ctx.request?.http?.size).toBe(-1n);
    expect(ctx.request?.http?.rawBody).toEqual(new Uint8Array([104, 105]));
    expect(ctx.request?.time?.seconds).toBe(BigInt(Date.UTC(2026, 0, 2, 3, 4, 5) / 1000));
  });

  it("when a 64-bit, bytes or timestamp value does not fit, then it is refused", () => {
    expect(refusal(AttributeContextSchema, "request.http.size=9223372036854775808").description).toBe(
      "must be an int64 in decimal",
    );
    expect(parse(AttributeContextSchema, "request.http.size=-9223372036854775808").request?.http?.size).toBe(
      -(2n ** 63n),
    );
    expect(refusal(AttributeContextSchema, "request.http.raw_body=%21%21").description).toBe("must be base64");
    expect(refusal(AttributeContextSchema, "request.time=yesterday").description).toBe(
      "must be a google.protobuf.Timestamp in its JSON form",
    );
  });

  it("when a parameter names a map, a message or a field inside a map, then it is refused as unknown", () => {
    for (const query of ["context_extensions=x", "source=x", "source.labels=x", "request.http.headers=x"]) {
      expect(refusal(AttributeContextSchema, query).description, query).toBe("unknown query parameter");
    }
  });
});

describe("path variables to request fields", () => {
  it("when a path variable is applied, then the field holds the decoded value", () => {
    const message = create(GetUserRequestSchema);
    applyPathVariables(GetUserRequestSchema, message, new Map([["user_id", "a/b c"]]));
    expect(message.userId).toBe("a/b c");
  });

  it("when a path variable does not fit its field, then it is refused by name", () => {
    const message = create(ListUsersRequestSchema);
    expect(() => applyPathVariables(ListUsersRequestSchema, message, new Map([["page_size", "x"]]))).toThrow(
      "page_size: must be an int32 in decimal",
    );
  });
});
