import { describe, expect, it } from "vitest";
import { sessionDetails } from "../../src/domain/session-details.js";

describe("what a session records about its client", () => {
  it("when the user agent holds line breaks, escapes, tabs, DEL or C1 controls, then they are removed", () => {
    const { userAgent } = sessionDetails({
      clientAddress: "203.0.113.5",
      userAgent: "Mozilla/5.0\r\nX-Injected: 1\u001b[31m\tred\u007f\u0085 end",
    });
    expect(userAgent).toBe("Mozilla/5.0X-Injected: 1[31mred end");
  });

  it("when the user agent is longer than 512 characters, then it is cut to 512, counting characters not UTF-16 units", () => {
    const { userAgent } = sessionDetails({ clientAddress: "", userAgent: "😀".repeat(600) });
    expect([...userAgent]).toHaveLength(512);
    expect(userAgent).toBe("😀".repeat(512));
  });

  it("when the address is ordinary, then it is kept as it is; an absurd one is cut to 64", () => {
    expect(sessionDetails({ clientAddress: "2001:db8::1", userAgent: "" })).toEqual({
      clientAddress: "2001:db8::1",
      userAgent: "",
    });
    expect(sessionDetails({ clientAddress: "x".repeat(100), userAgent: "" }).clientAddress).toHaveLength(64);
  });
});
