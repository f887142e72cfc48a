/**
 * A small OTLP/HTTP trace receiver, as a collector would run it: it accepts
 * `POST /v1/traces` in http/protobuf and http/json, keeps every request, and
 * decodes both encodings into one plain shape, so that a test asserts the
 * same things whatever the protocol.
 */

import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  readonly service: string;
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly status: { readonly code: number; readonly message: string };
}

export interface ReceivedExport {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly spans: readonly ReceivedSpan[];
}

export interface OtlpReceiver {
  /** The value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly exports: ReceivedExport[];
  readonly spans: () => ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const type = req.headers["content-type"] ?? "";
      const spans = type.startsWith("application/json")
        ? fromJson(JSON.parse(body.toString("utf8")) as JsonRequest)
        : fromProtobuf(body);
      exports.push({ path: req.url ?? "", headers: req.headers, body, spans });
      // An empty ExportTraceServiceResponse: full success.
      res.writeHead(200, { "content-type": type.startsWith("application/json") ? "application/json" : type });
      res.end(type.startsWith("application/json") ? "{}" : Buffer.alloc(0));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    exports,
    spans: () => exports.flatMap((e) => e.spans),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// --- http/json -----------------------------------------------------------

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}
interface JsonRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: JsonKeyValue[];
        status?: { code?: number; message?: string };
      }>;
    }>;
  }>;
}

const jsonAttributes = (list: JsonKeyValue[] = []): Record<string, AttributeValue> =>
  Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ??
        value.boolValue ??
        (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? "")),
    ]),
  );

function fromJson(body: JsonRequest): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const service = String(jsonAttributes(rs.resource?.attributes)["service.name"] ?? "");
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        service,
        name: s.name,
        kind: s.kind,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        attributes: jsonAttributes(s.attributes),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
      })),
    );
  });
}

// --- http/protobuf ---------------------------------------------------------
// Field numbers of opentelemetry/proto/collector/trace/v1 and trace/v1, common/v1.

type Field = Uint8Array | bigint | string | number;

/** Splits a protobuf message into its fields by number, without a schema. */
function fieldsOf(bytes: Uint8Array): Map<number, Field[]> {
  const reader = new BinaryReader(bytes);
  const out = new Map<number, Field[]>();
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    let value: Field;
    if (type === WireType.Varint) value = reader.uint64();
    else if (type === WireType.LengthDelimited) value = reader.bytes();
    else if (type === WireType.Bit64) value = reader.fixed64();
    else if (type === WireType.Bit32) value = reader.fixed32();
    else throw new Error(`unexpected wire type ${type}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

const bytesOf = (f: Map<number, Field[]>, no: number): Uint8Array[] =>
  (f.get(no) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array);
const first = (f: Map<number, Field[]>, no: number): Uint8Array => bytesOf(f, no)[0] ?? new Uint8Array();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const numberOf = (f: Map<number, Field[]>, no: number) => {
  const v = f.get(no)?.[0];
  return v === undefined || v instanceof Uint8Array ? 0 : Number(v);
};

function anyValue(bytes: Uint8Array): AttributeValue {
  const f = fieldsOf(bytes);
  if (f.has(1)) return text(first(f, 1));
  if (f.has(2)) return numberOf(f, 2) === 1;
  if (f.has(3)) return numberOf(f, 3);
  const double = f.get(4)?.[0];
  if (double !== undefined && !(double instanceof Uint8Array)) {
    return new DataView(new BigUint64Array([BigInt(double)]).buffer).getFloat64(0, true);
  }
  return "";
}

const protoAttributes = (list: Uint8Array[]): Record<string, AttributeValue> =>
  Object.fromEntries(
    list.map((kv) => {
      const f = fieldsOf(kv);
      return [text(first(f, 1)), anyValue(first(f, 2))];
    }),
  );

function fromProtobuf(body: Uint8Array): ReceivedSpan[] {
  return bytesOf(fieldsOf(body), 1).flatMap((resourceSpans) => {
    const rs = fieldsOf(resourceSpans);
    const service = String(protoAttributes(bytesOf(fieldsOf(first(rs, 1)), 1))["service.name"] ?? "");
    return bytesOf(rs, 2).flatMap((scopeSpans) =>
      bytesOf(fieldsOf(scopeSpans), 2).map((spanBytes) => {
        const s = fieldsOf(spanBytes);
        const status = fieldsOf(first(s, 15));
        return {
          service,
          name: text(first(s, 5)),
          kind: numberOf(s, 6),
          traceId: hex(first(s, 1)),
          spanId: hex(first(s, 2)),
          parentSpanId: hex(first(s, 4)),
          attributes: protoAttributes(bytesOf(s, 9)),
          status: { code: numberOf(status, 3), message: text(first(status, 2)) },
        };
      }),
    );
  });
}
