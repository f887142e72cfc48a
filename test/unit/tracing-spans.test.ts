import { PassThrough } from "node:stream";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { DomainError } from "../../src/domain/errors.js";
import { createLogger } from "../../src/logger.js";
import { withSpan } from "../../src/tracing/spans.js";
import { createTracing } from "../../src/tracing/tracing.js";

/** withSpan, the helper for work outside the RPC path (the mail outbox's `mail.send`). */
describe("withSpan", () => {
  async function setup() {
    const exporter = new InMemorySpanExporter();
    const tracing = await createTracing(loadConfig({}).tracing, {
      spanProcessor: new SimpleSpanProcessor({ exporter }),
      shutdownGraceMs: 1000,
    });
    if (tracing === undefined) throw new Error("tracing not set up");
    return { exporter, tracing };
  }

  it("when run outside any call, then it starts a new trace, and spans and log lines inside belong to it", async () => {
    const { exporter, tracing } = await setup();
    const lines: Array<Record<string, unknown>> = [];
    const stream = new PassThrough();
    stream.on("data", (c: Buffer) => lines.push(JSON.parse(c.toString("utf8")) as Record<string, unknown>));
    const logger = createLogger("info", stream);

    const result = await withSpan(tracing, "mail.send", async () => {
      logger.info("sending");
      return withSpan(tracing, "mail.render", async () => 42);
    });

    expect(result).toBe(42);
    const [render, send] = exporter.getFinishedSpans();
    expect(send?.name).toBe("mail.send");
    expect(send?.parentSpanContext).toBeUndefined();
    expect(render?.name).toBe("mail.render");
    expect(render?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    // The logger writes the lines of one event-loop turn together, right after it.
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
    expect(lines[0]).toMatchObject({ message: "sending", trace_id: send?.spanContext().traceId });
    expect(lines[0]?.span_id).toBe(send?.spanContext().spanId);
    // Outside a call there is no request id to write.
    expect(lines[0]?.request_id).toBeUndefined();
    await tracing.shutdown();
  });

  it("when the work fails, then the span says why by reason or class name only, and the error passes through unchanged", async () => {
    const { exporter, tracing } = await setup();
    const refused = new DomainError("SERVICE_UNAVAILABLE", "smtp said: 535 bad password hunter2");
    await expect(withSpan(tracing, "mail.send", () => Promise.reject(refused))).rejects.toBe(refused);
    await expect(
      withSpan(tracing, "mail.send", () => Promise.reject(new TypeError("token abc123 invalid"))),
    ).rejects.toThrow(TypeError);
    const [first, second] = exporter.getFinishedSpans();
    expect(first?.attributes["error.type"]).toBe("SERVICE_UNAVAILABLE");
    expect(first?.status).toEqual({ code: 2, message: "SERVICE_UNAVAILABLE" });
    expect(second?.status).toEqual({ code: 2, message: "TypeError" });
    expect(JSON.stringify(exporter.getFinishedSpans().map((s) => [s.attributes, s.status, s.events]))).not.toMatch(
      /hunter2|abc123/,
    );
    await tracing.shutdown();
  });

  it("when tracing is off, then it only runs the work", async () => {
    expect(await withSpan(undefined, "mail.send", async () => "sent")).toBe("sent");
  });
});
