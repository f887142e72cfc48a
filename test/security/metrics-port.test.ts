import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers/server.js";

/** Item 7 of issue 10: /metrics on a port of its own (METRICS_PORT), the production choice. */
describe("METRICS_PORT", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { METRICS_PORT: "0" } });
  });
  afterAll(() => server?.close());

  it("when METRICS_PORT is set, then /metrics is served there and not on the main port", async () => {
    const port = server.app.metricsPort;
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(server.port);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("grpc_server_handled_total");
    expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(404);
    // The metrics port serves metrics only.
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(404);
    expect(server.logs.some((l) => l.message === "metrics listening" && l.port === port)).toBe(true);
  });

  it("when METRICS_PORT is not set, then /metrics stays on the main port", async () => {
    const plain = await startServer();
    try {
      expect(plain.app.metricsPort).toBeUndefined();
      expect((await fetch(`${plain.baseUrl}/metrics`)).status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});
