import { describe, expect, it } from "vitest";
import {
  hashRefreshToken,
  isRefreshTokenShaped,
  newRefreshToken,
  openSuccessor,
  sealSuccessor,
} from "../../src/domain/refresh-tokens.js";

describe("refresh tokens", () => {
  it("when tokens are made, then they are 256-bit base64url strings, distinct, and stored only as a different digest", () => {
    const tokens = new Set(Array.from({ length: 1000 }, newRefreshToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(isRefreshTokenShaped(t)).toBe(true);
    const t = newRefreshToken();
    expect(Buffer.from(t, "base64url")).toHaveLength(32);
    expect(hashRefreshToken(t)).not.toBe(t);
    expect(hashRefreshToken(t)).toBe(hashRefreshToken(t));
  });

  it("when a successor is sealed, then only the replaced token opens it", () => {
    const token = newRefreshToken();
    const sealed = sealSuccessor(token, { refreshToken: "next" });
    expect(sealed).not.toContain("next");
    expect(openSuccessor(token, sealed)).toEqual({ refreshToken: "next" });
    expect(openSuccessor(newRefreshToken(), sealed)).toBeNull();
    expect(openSuccessor(hashRefreshToken(token), sealed)).toBeNull();
    expect(openSuccessor(token, `${sealed.slice(0, -2)}AA`)).toBeNull();
  });

  it("when the same successor is sealed many times, across refills of the random pool, then no two seals share an IV", () => {
    const token = newRefreshToken();
    const ivs = new Set(
      Array.from({ length: 1000 }, () =>
        Buffer.from(sealSuccessor(token, { refreshToken: "next" }), "base64url")
          .subarray(0, 12)
          .toString("hex"),
      ),
    );
    expect(ivs.size).toBe(1000);
  });
});
