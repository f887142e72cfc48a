import type { Attributes, Span, SpanKind } from "@opentelemetry/api";
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";
import type { OtlpExportConfig, TracingConfig } from "../config.js";

/** Request headers as either Node server hands them over. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * What the service needs of OpenTelemetry: starting spans. The service holds
 * one of these only while tracing is on; everywhere else `Tracing |
 * undefined` is undefined and no span work happens at all. The modules that
 * hold it import `@opentelemetry/api` for types only: the OpenTelemetry
 * packages are loaded by {@link createTracing}, and only when tracing is on.
 */
export interface Tracing {
  /**
   * Starts a call's SERVER span. A W3C `traceparent` (and `tracestate`) in
   * the headers makes it a child of the caller's span; without one it starts
   * a new trace.
   */
  startServerSpan(name: string, headers: RequestHeaders, attributes: Attributes): Span;
  /** Starts a span under `parent`, or the root span of a new trace when there is none. */
  startSpan(name: string, parent: Span | undefined, options?: ChildSpanOptions): Span;
  /** Ends the tracer provider: spans still queued are exported first, for at most the grace period. */
  shutdown(): Promise<void>;
}

export interface ChildSpanOptions {
  /** Default INTERNAL; CLIENT for calls to another system (the database, the mail server). */
  readonly kind?: "internal" | "client";
  readonly attributes?: Attributes;
  /** When the span really started, as performance.now() (or Date.now()) milliseconds. */
  readonly startTime?: number;
}

export interface TracingOptions {
  /**
   * Replaces the batch processor and its OTLP exporter, and turns tracing
   * on even without an endpoint. For tests (an in-memory exporter).
   */
  readonly spanProcessor?: SpanProcessor;
  /** Shutdown waits at most this long for the last spans to be exported. */
  readonly shutdownGraceMs: number;
  /**
   * Hears when exports start failing (with the first error) and when they
   * work again (no error): once per change, not per batch. Without it a
   * collector that is down would go unnoticed.
   */
  readonly onExportChange?: (error: Error | undefined) => void;
}

/**
 * Sets up tracing when an OTLP endpoint is configured (or a test passes its
 * span processor): a tracer provider with the sampler and the bounded batch
 * processor of the config, exporting OTLP over HTTP (protobuf or JSON).
 * Nothing is registered globally — no global tracer provider, propagator or
 * context manager: the current span travels in the log context
 * (src/log-context.ts), and several apps in one process (the tests) each
 * have their own provider. Returns undefined when tracing is off, having
 * loaded nothing.
 */
export async function createTracing(config: TracingConfig, opts: TracingOptions): Promise<Tracing | undefined> {
  if (config.export === undefined && opts.spanProcessor === undefined) return undefined;
  const [api, core, sdk, resources] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
  ]);

  const { ratio, parentBased } = config.sampler;
  const root =
    ratio >= 1
      ? new sdk.AlwaysOnSampler()
      : ratio <= 0
        ? new sdk.AlwaysOffSampler()
        : new sdk.TraceIdRatioBasedSampler(ratio);
  const processor =
    opts.spanProcessor ??
    (config.export &&
      new sdk.BatchSpanProcessor({
        exporter: reportingChanges(
          await createExporter(config.export),
          core.ExportResultCode.SUCCESS,
          opts.onExportChange,
        ),
        scheduledDelayMillis: config.batch.scheduledDelayMs,
        exportTimeoutMillis: config.batch.exportTimeoutMs,
        maxQueueSize: config.batch.maxQueueSize,
        maxExportBatchSize: config.batch.maxExportBatchSize,
      }));
  if (processor === undefined) return undefined;
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": config.serviceName }),
    sampler: parentBased ? new sdk.ParentBasedSampler({ root }) : root,
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer("warden");
  const propagator = new core.W3CTraceContextPropagator();
  const kinds: Record<NonNullable<ChildSpanOptions["kind"]>, SpanKind> = {
    internal: api.SpanKind.INTERNAL,
    client: api.SpanKind.CLIENT,
  };
  const parentContext = (parent: Span | undefined) =>
    parent === undefined ? api.ROOT_CONTEXT : api.trace.setSpan(api.ROOT_CONTEXT, parent);

  return {
    startServerSpan(name, headers, attributes) {
      const parent = propagator.extract(api.ROOT_CONTEXT, headers, api.defaultTextMapGetter);
      return tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, parent);
    },
    startSpan(name, parent, options = {}) {
      return tracer.startSpan(
        name,
        { kind: kinds[options.kind ?? "internal"], attributes: options.attributes, startTime: options.startTime },
        parentContext(parent),
      );
    },
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, opts.shutdownGraceMs);
        timer.unref();
      });
      // A collector that does not answer must not hold the process past its grace period.
      await Promise.race([provider.shutdown(), deadline]);
      clearTimeout(timer);
    },
  };
}

/**
 * The exporter, telling `onChange` when exports start failing and when they
 * recover. Spans that could not be sent are dropped by the SDK, as they
 * would be by any collector pipeline; the service goes on.
 */
function reportingChanges(
  exporter: SpanExporter,
  success: number,
  onChange: TracingOptions["onExportChange"],
): SpanExporter {
  if (onChange === undefined) return exporter;
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        const ok = result.code === success;
        if (ok === failing) {
          failing = !ok;
          onChange(ok ? undefined : (result.error ?? new Error("export failed")));
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/** The OTLP/HTTP exporter of the configured protocol; only that one package is loaded. */
async function createExporter(config: OtlpExportConfig): Promise<SpanExporter> {
  const options = { url: config.url, headers: { ...config.headers }, timeoutMillis: config.timeoutMs };
  if (config.protocol === "http/json") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter(options);
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter(options);
}
