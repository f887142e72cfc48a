import { describe, expect, it } from "vitest";
import { bearerToken, presentedBearerToken } from "../../src/transport/mappers.js";

/**
 * The token checks tell "no token" (401 `Bearer`) from "a bad token" (401
 * `Bearer error="invalid_token"`): presentedBearerToken says which a header is.
 */
describe("presentedBearerToken", () => {
  it("when there is no header, or one of another scheme, then no token was presented (null)", () => {
    for (const header of [undefined, null, "", "   ", `Basic ${Buffer.from("a:b").toString("base64")}`, "Bearerxyz"]) {
      expect(presentedBearerToken(header), String(header)).toBeNull();
    }
  });

  it("when the scheme is Bearer but holds no single token, then an empty (so invalid) token was presented", () => {
    for (const header of ["Bearer", "Bearer   ", "Bearer a b", "bearer\ta"]) {
      expect(presentedBearerToken(header), header).toBe("");
    }
  });

  it("when the header holds a bearer token, in any case of the scheme, then that token, as bearerToken reads it", () => {
    for (const header of ["Bearer abc.def", "bearer  abc.def ", "BEARER abc.def"]) {
      expect(presentedBearerToken(header), header).toBe("abc.def");
      expect(presentedBearerToken(header)).toBe(bearerToken(header.trim()));
    }
  });
});
