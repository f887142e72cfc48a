import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createPageTokens } from "../../src/domain/page-tokens.js";
import { normalizeRoles } from "../../src/domain/roles.js";

describe("page tokens", () => {
  const tokens = createPageTokens(randomBytes(32));
  const cursor = { createdAt: new Date("2026-11-30T15:02:32.123Z"), id: randomUUID() };

  it("when a token is opened with its query, then the cursor comes back exactly", () => {
    const token = tokens.seal(cursor, "ali");
    expect(token).toMatch(/^[A-Za-z0-9_-]{55}$/);
    expect(tokens.open(token, "ali")).toEqual(cursor);
  });

  it("when any character of a token is changed, then it is refused with VALIDATION_ERROR on page_token", () => {
    const token = tokens.seal(cursor, "");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (let i = 0; i < token.length; i++) {
      const other = alphabet[(alphabet.indexOf(token[i] ?? "A") + 1 + (i % 63)) % 64];
      const tampered = token.slice(0, i) + other + token.slice(i + 1);
      expect(() => tokens.open(tampered, "")).toThrow(
        expect.objectContaining({
          reason: "VALIDATION_ERROR",
          violations: [expect.objectContaining({ field: "page_token" })],
        }),
      );
    }
  });

  it("when a token is used with another query or came from another key, then it is refused", () => {
    expect(() => tokens.open(tokens.seal(cursor, "a"), "b")).toThrow(
      expect.objectContaining({ reason: "VALIDATION_ERROR" }),
    );
    const other = createPageTokens(randomBytes(32)).seal(cursor, "a");
    expect(() => tokens.open(other, "a")).toThrow(expect.objectContaining({ reason: "VALIDATION_ERROR" }));
  });
});

describe("role names", () => {
  it("when roles are normalised, then they come back distinct and sorted, and bad names are named by index", () => {
    const out: Array<{ field: string; description: string }> = [];
    expect(normalizeRoles(["ops", "admin", "ops", "a.b-c_9"], out)).toEqual(["a.b-c_9", "admin", "ops"]);
    expect(out).toEqual([]);
    normalizeRoles(["ok", "Ops", "-x", "x".repeat(64), "x".repeat(65)], out);
    expect(out.map((v) => v.field)).toEqual(["roles[1]", "roles[2]", "roles[4]"]);
  });
});
