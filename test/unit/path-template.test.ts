import { describe, expect, it } from "vitest";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import { AdminService } from "../../gen/auth/v1/admin_pb.js";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { httpRulesOf } from "../../src/transport/rest/http-rules.js";
import { compile, PathTemplateError } from "../../src/transport/rest/path-template.js";
import { createRouteTable } from "../../src/transport/rest/route-table.js";

const vars = (template: string, path: string) => {
  const m = compile(template).match(path);
  return m === undefined ? undefined : Object.fromEntries(m);
};

describe("google.api.http path templates", () => {
  it("when a literal template is matched, then only the exact path matches, with no variables", () => {
    expect(vars("/users/me", "/users/me")).toEqual({});
    expect(vars("/users/me", "/users/you")).toBeUndefined();
    expect(vars("/users/me", "/users/me/")).toBeUndefined();
    expect(vars("/users/me", "/users")).toBeUndefined();
    expect(vars("/users/me", "/users/me/x")).toBeUndefined();
    expect(vars("/users/me", "users/me")).toBeUndefined();
  });

  it("when {var} is matched, then it takes exactly one non-empty segment", () => {
    expect(vars("/admin/users/{user_id}", "/admin/users/42")).toEqual({ user_id: "42" });
    expect(vars("/admin/users/{user_id}", "/admin/users/")).toBeUndefined();
    expect(vars("/admin/users/{user_id}", "/admin/users")).toBeUndefined();
    expect(vars("/admin/users/{user_id}", "/admin/users/42/x")).toBeUndefined();
    expect(vars("/admin/users/{user_id}/sessions", "/admin/users/42/sessions")).toEqual({ user_id: "42" });
    expect(vars("/admin/users/{user_id=*}", "/admin/users/42")).toEqual({ user_id: "42" });
  });

  it("when a one-segment variable holds percent-escapes, then it is fully decoded, an encoded slash included", () => {
    expect(vars("/admin/users/{user_id}", "/admin/users/a%2Fb")).toEqual({ user_id: "a/b" });
    expect(vars("/admin/users/{user_id}", "/admin/users/a%2fb")).toEqual({ user_id: "a/b" });
    expect(vars("/admin/users/{user_id}", "/admin/users/caf%C3%A9%20x")).toEqual({ user_id: "café x" });
    // "+" is a space only in query strings, not in paths.
    expect(vars("/admin/users/{user_id}", "/admin/users/a+b")).toEqual({ user_id: "a+b" });
    expect(vars("/admin/users/{user_id}", "/admin/users/%252F")).toEqual({ user_id: "%2F" });
  });

  it("when the path is not valid percent-encoded UTF-8, then nothing matches", () => {
    expect(vars("/admin/users/{user_id}", "/admin/users/%zz")).toBeUndefined();
    expect(vars("/admin/users/{user_id}", "/admin/users/%")).toBeUndefined();
    expect(vars("/admin/users/{user_id}", "/admin/users/%FF")).toBeUndefined();
  });

  it("when empty segments appear, then nothing matches", () => {
    expect(vars("/admin/users/{user_id}", "/admin//users/1")).toBeUndefined();
    expect(vars("/admin/users/{user_id}", "//admin/users/1")).toBeUndefined();
    expect(vars("/files/{path=**}", "/files/a//b")).toBeUndefined();
  });

  it("when literal segments are percent-encoded, then they match their decoded form", () => {
    expect(vars("/admin/users/{user_id}", "/admin/%75sers/1")).toEqual({ user_id: "1" });
    expect(vars("/admin/users", "/admin%2Fusers")).toBeUndefined();
  });

  it("when {var=**} is matched, then it takes the rest of the path and keeps encoded slashes encoded", () => {
    expect(vars("/files/{path=**}", "/files/a/b/c")).toEqual({ path: "a/b/c" });
    expect(vars("/files/{path=**}", "/files/a%2Fb/c%20d")).toEqual({ path: "a%2Fb/c d" });
    expect(vars("/files/{path=**}", "/files")).toEqual({ path: "" });
    expect(vars("/files/{path=**}", "/other/a")).toBeUndefined();
  });

  it("when a variable has several segments, then it binds them joined, with literals inside checked", () => {
    const t = "/v1/{name=projects/*/keys/*}";
    expect(vars(t, "/v1/projects/p1/keys/k%2F1")).toEqual({ name: "projects/p1/keys/k%2F1" });
    expect(vars(t, "/v1/projects/p1/other/k1")).toBeUndefined();
  });

  it("when a template has several variables and a verb, then each is bound and the verb must be there", () => {
    const t = "/a/{x}/b/{y.z}:cancel";
    expect(compile(t).fieldPaths).toEqual(["x", "y.z"]);
    expect(vars(t, "/a/1/b/2:cancel")).toEqual({ x: "1", "y.z": "2" });
    expect(vars(t, "/a/1/b/2")).toBeUndefined();
    expect(vars(t, "/a/1/b/2:undo")).toBeUndefined();
    // Without a verb in the template, a colon is an ordinary character.
    expect(vars("/a/{x}", "/a/1:cancel")).toEqual({ x: "1:cancel" });
  });

  it.each([
    ["admin/users", "must start with /"],
    ["/admin/users/", "trailing /"],
    ["/admin//users", "bad segment"],
    ["/admin/{user_id", "unclosed {"],
    ["/admin/{}", "bad field path"],
    ["/admin/{1x}", "bad field path"],
    ["/admin/{a}/{a}", "bound twice"],
    ["/admin/{a={b}}", "nested variables"],
    ["/files/{p=**}/x", "** must be the last segment"],
    ["/a/b}c", "bad segment"],
  ])("when the template %s is compiled, then it is refused (%s)", (template, why) => {
    expect(() => compile(template)).toThrow(PathTemplateError);
    expect(() => compile(template)).toThrow(why);
  });
});

describe("REST route table over the services' rules", () => {
  const lookup = createRouteTable(httpRulesOf(AuthService, AccountService, AdminService));
  const found = (method: string, path: string) => {
    const r = lookup(method, path);
    return r?.kind === "match" ? { rpc: r.rule.method.name, vars: Object.fromEntries(r.variables) } : r;
  };

  it("when templates overlap, then a literal segment wins over a variable for its method", () => {
    expect(found("POST", "/account/sessions/revoke-others")).toEqual({ rpc: "RevokeOtherSessions", vars: {} });
    expect(found("DELETE", "/account/sessions/s-1")).toEqual({ rpc: "RevokeSession", vars: { session_id: "s-1" } });
    // The variable still takes the literal's spelling for another method.
    expect(found("DELETE", "/account/sessions/revoke-others")).toEqual({
      rpc: "RevokeSession",
      vars: { session_id: "revoke-others" },
    });
  });

  it("when the path is a route but not for the method, then every method it has is allowed", () => {
    expect(found("GET", "/account/sessions/revoke-others")).toEqual({
      kind: "method-not-allowed",
      allowed: ["POST", "DELETE"],
    });
    expect(found("PATCH", "/admin/users/u1")).toEqual({ kind: "method-not-allowed", allowed: ["GET", "DELETE"] });
  });

  it("when admin paths are looked up, then each reaches its RPC with the user id", () => {
    expect(found("GET", "/admin/users")).toEqual({ rpc: "ListUsers", vars: {} });
    expect(found("GET", "/admin/users/u%201")).toEqual({ rpc: "GetUser", vars: { user_id: "u 1" } });
    expect(found("PUT", "/admin/users/u1/roles")).toEqual({ rpc: "SetUserRoles", vars: { user_id: "u1" } });
    expect(found("POST", "/admin/users/u1/sessions/revoke")).toEqual({
      rpc: "RevokeUserSessions",
      vars: { user_id: "u1" },
    });
    expect(found("GET", "/admin/users/u1/nothing")).toBeUndefined();
  });

  it("when two rules serve the same method and template shape, then the table is refused at start-up", () => {
    const rules = httpRulesOf(AdminService);
    const getUser = rules.find((r) => r.method.name === "GetUser");
    if (getUser === undefined) throw new Error("GetUser has no rule");
    const clash = { ...getUser, path: "/admin/users/{other}", template: compile("/admin/users/{other}") };
    expect(() => createRouteTable([...rules, clash])).toThrow(/both serve GET/);
  });
});
