import http from "node:http";
import http2 from "node:http2";

/**
 * One-shot health probes with no connection reuse and no client-side
 * back-off, for timing start-up: a refused connection fails at once, so the
 * first success is close to the moment the service could answer.
 */

/** A gRPC frame holding an empty HealthCheckRequest (service ""). */
const EMPTY_CHECK = Buffer.from([0, 0, 0, 0, 0]);
/** The frame of HealthCheckResponse{status: SERVING}: field 1, varint 1. */
const SERVING = Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]);

export type ProbeAnswer = "serving" | "not-serving" | "unimplemented" | "down";

/** grpc.health.v1.Health/Check over h2c prior knowledge, hand-framed. */
export function grpcHealthCheck(port: number, timeoutMs = 1000): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const done = (answer: ProbeAnswer) => {
      clearTimeout(timer);
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done("down"), timeoutMs);
    session.on("error", () => done("down"));
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on("response", (headers) => {
      // Without the route, the server answers plain HTTP 404, which gRPC reads as UNIMPLEMENTED.
      if (headers[":status"] === 404) status = "12";
      const s = headers["grpc-status"];
      if (typeof s === "string") status = s;
    });
    stream.on("trailers", (trailers) => {
      const s = trailers["grpc-status"];
      if (typeof s === "string") status = s;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => done("down"));
    stream.on("close", () => {
      if (status === "12") return done("unimplemented");
      if (status !== "0") return done(status === undefined ? "down" : "not-serving");
      done(Buffer.concat(chunks).equals(SERVING) ? "serving" : "not-serving");
    });
    stream.end(EMPTY_CHECK);
  });
}

/** GET /health over a fresh HTTP/1.1 connection. */
export function httpHealthCheck(port: number, timeoutMs = 1000): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? "serving" : "not-serving"));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve("down"));
  });
}

/** Which health endpoint the service offers: the gRPC one once it exists, else GET /health. */
export async function healthKind(port: number): Promise<"grpc" | "http"> {
  return (await grpcHealthCheck(port)) === "unimplemented" ? "http" : "grpc";
}
