import http2 from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

/** The ErrorInfo reason inside a google.rpc.Status (gRPC's grpc-status-details-bin), if any. */
export function reasonOfStatus(bin: string | Buffer | undefined): string | undefined {
  if (bin === undefined) return undefined;
  const status = fromBinary(StatusSchema, typeof bin === "string" ? Buffer.from(bin, "base64") : bin);
  for (const any of status.details) {
    const info = anyUnpack(any, ErrorInfoSchema);
    if (info) return info.reason;
  }
  return undefined;
}

/** A gRPC length-prefixed message frame. */
export const envelope = (payload: Uint8Array, flags = 0) => {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(payload.byteLength, 1);
  return Buffer.concat([head, payload]);
};

export interface RawResult {
  /** gRPC status code (0 = OK), or the Connect code string mapped to its number. */
  readonly code: number;
  readonly reason?: string;
  readonly httpStatus: number;
}

/** One unary gRPC call with any bytes as the message, over HTTP/2 cleartext. */
export function grpcRaw(port: number, path: string, payload: Uint8Array, timeoutMs = 10_000): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`gRPC call to ${path} hung`));
    }, timeoutMs);
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (headers = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", () => undefined);
    req.on("end", () => {
      clearTimeout(timer);
      session.close();
      // A trailers-only response carries the status in the headers.
      const all = { ...headers, ...trailers };
      resolve({
        code: Number(all["grpc-status"]),
        reason: reasonOfStatus(all["grpc-status-details-bin"] as string | undefined),
        httpStatus: Number(headers[":status"]),
      });
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(envelope(payload));
  });
}

/** One unary gRPC-Web call with any bytes as the message, over HTTP/1.1. */
export async function grpcWebRaw(baseUrl: string, path: string, payload: Uint8Array): Promise<RawResult> {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: envelope(payload),
    signal: AbortSignal.timeout(10_000),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const fields: Record<string, string> = {};
  for (const [k, v] of res.headers) fields[k] = v;
  for (let at = 0; at + 5 <= body.length; ) {
    const flags = body.readUInt8(at);
    const len = body.readUInt32BE(at + 1);
    const frame = body.subarray(at + 5, at + 5 + len);
    if (flags & 0x80) {
      for (const line of frame.toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        if (i > 0) fields[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
    }
    at += 5 + len;
  }
  return {
    code: Number(fields["grpc-status"]),
    reason: reasonOfStatus(fields["grpc-status-details-bin"]),
    httpStatus: res.status,
  };
}

const CONNECT_CODES: Record<string, number> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k.replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase()), v as number]),
);

/** One unary Connect call with any body, binary (application/proto) or JSON. */
export async function connectRaw(
  baseUrl: string,
  path: string,
  body: Uint8Array | string,
  binary: boolean,
): Promise<RawResult> {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": binary ? "application/proto" : "application/json", "connect-protocol-version": "1" },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 200) {
    await res.arrayBuffer();
    return { code: 0, httpStatus: 200 };
  }
  const err = (await res.json()) as { code: string; details?: Array<{ type: string; value: string }> };
  const info = err.details?.find((d) => d.type === "google.rpc.ErrorInfo");
  return {
    code: CONNECT_CODES[err.code] ?? -1,
    reason: info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")).reason : undefined,
    httpStatus: res.status,
  };
}
