import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { canonicalAddress, clientKey } from "../../src/net/ip-address.js";

/** Items 1 and 4 of issue 10: who counts as one client, and the settings of the limits. */
describe("one spelling per address, one key per client", () => {
  it("when an address comes in any spelling, then it is written the RFC 5952 way, without zone, mapped IPv4 unwrapped", () => {
    expect(canonicalAddress("2001:DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(canonicalAddress("fe80::1%eth0")).toBe("fe80::1");
    expect(canonicalAddress("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(canonicalAddress("::FFFF:c000:201")).toBe("192.0.2.1");
    expect(canonicalAddress(" 10.0.0.1 ")).toBe("10.0.0.1");
    expect(canonicalAddress("not-an-address")).toBe("not-an-address");
  });

  it("when keys are made, then IPv4 is the address and IPv6 its /64, whatever the spelling", () => {
    expect(clientKey("203.0.113.9")).toBe("203.0.113.9");
    expect(clientKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    for (const a of ["2001:db8:1:2::1", "2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2:3:4:5:6%en0"])
      expect(clientKey(a), a).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8::/64");
    expect(clientKey("::1")).toBe("::/64");
    expect(clientKey("unknown")).toBe("unknown");
  });
});

describe("the limit settings", () => {
  it("when nothing is set, then the documented defaults apply", () => {
    const c = loadConfig({});
    expect(c.http).toMatchObject({
      maxConnections: 1000,
      maxConnectionsPerClient: 100,
      maxConcurrentStreams: 100,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 120_000,
      metricsPort: undefined,
    });
    expect(c.healthWatch).toEqual({ max: 1000, maxPerClient: 20 });
    expect(c.password.minScore).toBe(3);
    expect(c.password.hashQueueMax).toBe(50);
    expect(c.rateLimit.registerGlobalLimit).toBe(600);
    expect(c.rateLimit.registerGlobalWindowSeconds).toBe(60);
  });

  it("when the header timeout exceeds the request timeout, or METRICS_PORT is PORT, then the configuration is refused", () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: "5000", HTTP_REQUEST_TIMEOUT_MS: "4000" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "9000", METRICS_PORT: "9000" })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ PASSWORD_MIN_SCORE: "5" })).toThrow(/PASSWORD_MIN_SCORE/);
  });
});
