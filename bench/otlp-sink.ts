import http from "node:http";

/** What the sink received: export requests and their bytes (a check that spans did leave the service). */
export interface OtlpSink {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  received(): { requests: number; bytes: number };
  stop(): Promise<void>;
}

/**
 * The cheapest OTLP/HTTP receiver that keeps an exporter happy: it reads each
 * `POST /v1/traces` body to the end and answers 200 with an empty body (both
 * encodings accept it as a full success). It decodes nothing, so what the
 * benchmark measures is the service's cost of tracing, not a collector's.
 */
export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => ({ requests, bytes }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The service settings that turn tracing on at 100 % sampling, exporting to
 * `sink` in the given OTLP encoding ("protobuf" or "json").
 */
export function tracingEnv(sink: OtlpSink, encoding: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: encoding === "json" ? "http/json" : "http/protobuf",
    OTEL_TRACES_SAMPLER: "always_on",
  };
}
