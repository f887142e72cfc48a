import { describe, expect, it } from "vitest";
import { createClientAddressResolver } from "../../src/transport/client-address.js";

describe("client address for rate limits and audit", () => {
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

  it("when the trusted proxy is IPv6 or IPv4-mapped, then its x-forwarded-for is believed and mapped addresses are unwrapped", () => {
    const resolve = createClientAddressResolver(["127.0.0.1", "fd00::/8"]);
    expect(resolve("::ffff:127.0.0.1", "2001:db8::7")).toBe("2001:db8::7");
    expect(resolve("fd00::1", "::ffff:198.51.100.4")).toBe("198.51.100.4");
    expect(resolve("2001:db8::99", "198.51.100.4")).toBe("2001:db8::99");
  });

  it("when a chain of trusted proxies forwards, then the first untrusted hop from the right is the client, however many headers", () => {
    const resolve = createClientAddressResolver(["10.0.0.0/8"]);
    expect(resolve("10.0.0.1", ["203.0.113.1, 10.0.0.7", "10.0.0.3"])).toBe("203.0.113.1");
    // Everything trusted: the left-most hop is the best there is.
    expect(resolve("10.0.0.1", "10.0.0.9, 10.0.0.8")).toBe("10.0.0.9");
    // A forged hop left of a garbage entry is never reached.
    expect(resolve("10.0.0.1", "6.6.6.6, junk, 10.0.0.8")).toBe("10.0.0.8");
  });
});
