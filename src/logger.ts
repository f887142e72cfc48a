import winston from "winston";
import { currentLogFields } from "./log-context.js";

export type Logger = winston.Logger;

/** Keys whose values must never be written, whatever a caller passes in. */
const SECRET_KEY = /pass(word)?|token|secret|authorization|cookie|hash|private|jwk|^d$|seal|successor/i;

const redact = (value: unknown, depth = 0): unknown => {
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
};

/** Where winston's formats and transports find the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for("message");

/**
 * The whole line in one pass: timestamp, level, message, the request id of the
 * call being served, then the caller's fields with secret-looking ones
 * scrubbed, then, while the call is traced, the ids of its current span;
 * serialised once. (logform's timestamp + json formats did the same in three
 * passes, the last sorting every key.)
 */
const lineFormat = winston.format((info) => {
  const fields = currentLogFields();
  const line: Record<string, unknown> = {
    timestamp: new Date().toISOString(),
    level: info.level,
    message: info.message,
    request_id: info.request_id ?? (fields?.requestId || undefined),
  };
  for (const key of Object.keys(info)) {
    if (key === "level" || key === "message" || key === "request_id") continue;
    line[key] = SECRET_KEY.test(key) ? "[redacted]" : redact(info[key]);
  }
  if (fields?.trace) {
    const { traceId, spanId } = fields.trace.span.spanContext();
    line.trace_id = traceId;
    line.span_id = spanId;
  }
  info[MESSAGE] = serialise(line);
  return info;
});

/** JSON.stringify, or, for what it cannot write (a cycle deeper than redact looks, a bigint), a tolerant copy. */
function serialise(line: Record<string, unknown>): string {
  try {
    return JSON.stringify(line);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(line, (_key, value: unknown) => {
      if (typeof value === "bigint") return value.toString();
      if (typeof value !== "object" || value === null) return value;
      if (seen.has(value)) return "[circular]";
      seen.add(value);
      return value;
    });
  }
}

/**
 * What may be logged of an error: its name and code, and its message's first
 * line unless it is a database driver error (MikroORM's *Exception classes
 * quote the SQL, values included, in the message). Never the stack.
 */
export function describeError(e: unknown): { error_name: string; error_code?: string; error_message?: string } {
  if (!(e instanceof Error)) return { error_name: typeof e };
  const code = (e as NodeJS.ErrnoException).code;
  return {
    error_name: e.name,
    ...(typeof code === "string" ? { error_code: code } : {}),
    ...(/Exception$/.test(e.name) ? {} : { error_message: e.message.split("\n")[0] }),
  };
}

/**
 * One JSON object per line on stdout: timestamp, level, message, request_id
 * (and trace_id, span_id while tracing) and the fields the caller adds. `stream` lets tests capture the output.
 */
export function createLogger(level: string, stream?: NodeJS.WritableStream): Logger {
  // One write per line, at once: the bench branch's batching of a turn's lines
  // (one write after the turn) broke readers that expect a call's lines by the
  // time its answer arrives; not ported (see bench/RESULTS.md).
  return winston.createLogger({
    level,
    format: lineFormat(),
    transports: [new winston.transports.Stream({ stream: stream ?? process.stdout })],
  });
}
