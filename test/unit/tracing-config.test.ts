import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { createTracing } from "../../src/tracing/tracing.js";
import { waitFor } from "../helpers/wait.js";

describe("tracing settings (OTEL_*)", () => {
  it("when no endpoint is set, or the SDK is disabled, or the exporter is none, then there is no export", () => {
    expect(loadConfig({}).tracing.export).toBeUndefined();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: "true" }).tracing.export).toBeUndefined();
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }).tracing.export).toBeUndefined();
  });

  it("when the general endpoint is set, then v1/traces is appended and the defaults are http/protobuf, parent-based always on, service warden", () => {
    const c = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing;
    expect(c.export).toEqual({
      url: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      headers: {},
      timeoutMs: 10_000,
    });
    expect(c.serviceName).toBe("warden");
    expect(c.sampler).toEqual({ parentBased: true, ratio: 1 });
    expect(c.batch).toEqual({
      scheduledDelayMs: 5000,
      exportTimeoutMs: 30_000,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/otlp/" }).tracing.export?.url).toBe(
      "http://c:4318/otlp/v1/traces",
    );
  });

  it("when the traces variables are set too, then they win over the general ones, and the traces endpoint is used as it is", () => {
    const c = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://general:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/custom",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "a=1,b=2",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "B=3, api-key = s%20e%3Dc ",
      OTEL_EXPORTER_OTLP_TIMEOUT: "5000",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "2500",
    }).tracing.export;
    expect(c).toEqual({
      url: "https://traces.example/custom",
      protocol: "http/json",
      headers: { a: "1", b: "3", "api-key": "s e=c" },
      timeoutMs: 2500,
    });
  });

  it("when a sampler is named, then its kind and ratio follow the OTel specification", () => {
    const sampler = (name: string, arg?: string) =>
      loadConfig({ OTEL_TRACES_SAMPLER: name, ...(arg ? { OTEL_TRACES_SAMPLER_ARG: arg } : {}) }).tracing.sampler;
    expect(sampler("always_on")).toEqual({ parentBased: false, ratio: 1 });
    expect(sampler("always_off")).toEqual({ parentBased: false, ratio: 0 });
    expect(sampler("traceidratio", "0.25")).toEqual({ parentBased: false, ratio: 0.25 });
    expect(sampler("traceidratio")).toEqual({ parentBased: false, ratio: 1 });
    expect(sampler("parentbased_traceidratio", "0.1")).toEqual({ parentBased: true, ratio: 0.1 });
    expect(sampler("parentbased_always_off")).toEqual({ parentBased: true, ratio: 0 });
  });

  it("when a value is bad, then start-up is refused naming the variable, and never quoting a header's value", () => {
    const bad: Array<[Record<string, string>, string]> = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "OTEL_EXPORTER_OTLP_PROTOCOL"],
      [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "thrift" }, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"],
      [{ OTEL_TRACES_SAMPLER: "jaeger_remote" }, "OTEL_TRACES_SAMPLER"],
      [{ OTEL_TRACES_SAMPLER_ARG: "1.5" }, "OTEL_TRACES_SAMPLER_ARG"],
      [{ OTEL_BSP_MAX_QUEUE_SIZE: "10", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "20" }, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
      [{ OTEL_EXPORTER_OTLP_HEADERS: "api-key-without-value-s3cr3t" }, "OTEL_EXPORTER_OTLP_HEADERS"],
      [{ OTEL_EXPORTER_OTLP_HEADERS: "k=%E0%A4%A-s3cr3t" }, "OTEL_EXPORTER_OTLP_HEADERS"],
    ];
    for (const [env, name] of bad) {
      try {
        loadConfig(env);
        expect.unreachable(`${name} should be refused`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).toContain(name);
        expect((e as Error).message).not.toContain("s3cr3t");
      }
    }
  });
});

describe("createTracing", () => {
  it("when there is no endpoint and no span processor, then nothing is set up", async () => {
    expect(await createTracing(loadConfig({}).tracing, { shutdownGraceMs: 1000 })).toBeUndefined();
  });

  it("when the collector accepts connections but never answers, then shutdown still ends within the grace period", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s)).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const { port } = silent.address() as net.AddressInfo;
    try {
      const config = loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: "600000",
      }).tracing;
      const tracing = await createTracing(config, { shutdownGraceMs: 500 });
      expect(tracing).toBeDefined();
      tracing?.startSpan("pending", undefined).end();
      const started = performance.now();
      await tracing?.shutdown();
      const ms = performance.now() - started;
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(3000);
      // The export did reach the collector: the bound, not a skipped export, ended the wait.
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("when the collector starts refusing exports and later accepts them, then each change is reported once", async () => {
    let status = 400;
    let requests = 0;
    const collector = http.createServer((req, res) => {
      requests++;
      req.resume().on("end", () => res.writeHead(status, { "content-type": "application/x-protobuf" }).end());
    });
    collector.listen(0, "127.0.0.1");
    await once(collector, "listening");
    const { port } = collector.address() as net.AddressInfo;
    const changes: Array<Error | undefined> = [];
    try {
      const config = loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: "20",
      }).tracing;
      const tracing = await createTracing(config, { shutdownGraceMs: 2000, onExportChange: (e) => changes.push(e) });
      const spanUntil = async (what: string, done: () => boolean) => {
        await waitFor(what, () => {
          tracing?.startSpan("work", undefined).end();
          return done();
        });
      };
      await spanUntil("the failure report", () => changes.length === 1);
      expect(changes[0]).toBeInstanceOf(Error);
      status = 200;
      await spanUntil("the recovery report", () => changes.length === 2);
      expect(changes[1]).toBeUndefined();
      // More successful exports say nothing more.
      const seen = requests;
      await spanUntil("two more exports", () => requests >= seen + 2);
      await tracing?.shutdown();
      expect(changes).toHaveLength(2);
    } finally {
      collector.close();
    }
  });
});
