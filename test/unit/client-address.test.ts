import { describe, expect, it } from "vitest";
import { createClientAddressResolver } from "../../src/transport/client-address.js";

describe("client address", () => {
  it("when no proxy is trusted, then x-forwarded-for is ignored", () => {
    const resolve = createClientAddressResolver([]);
    expect(resolve("::ffff:10.0.0.9", "1.2.3.4")).toBe("10.0.0.9");
  });

  it("when the peer is a trusted proxy, then the right-most untrusted hop is the client", () => {
    const resolve = createClientAddressResolver(["10.0.0.0/8", "192.168.1.1"]);
    expect(resolve("10.1.2.3", "6.6.6.6, 203.0.113.7, 192.168.1.1")).toBe("203.0.113.7");
    expect(resolve("10.1.2.3", ["203.0.113.7"])).toBe("203.0.113.7");
    // A client cannot choose its address by prepending its own header value.
    expect(resolve("10.1.2.3", "1.1.1.1, 198.51.100.2")).toBe("198.51.100.2");
  });

  it("when the peer is not trusted or the header is garbage, then the peer address is used", () => {
    const resolve = createClientAddressResolver(["10.0.0.0/8"]);
    expect(resolve("203.0.113.9", "1.2.3.4")).toBe("203.0.113.9");
    expect(resolve("10.0.0.1", "not-an-ip")).toBe("10.0.0.1");
  });

  it("when TRUSTED_PROXIES holds something that is not an address, then it is refused", () => {
    expect(() => createClientAddressResolver(["proxy.local"])).toThrow(/TRUSTED_PROXIES/);
  });
});
