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

/**
 * Adds the request id of the call being served and, while it is traced, the
 * ids of its current span; scrubs secret-looking fields.
 */
const contextFormat = winston.format((info) => {
  const fields = currentLogFields();
  if (fields?.requestId && info.request_id === undefined) info.request_id = fields.requestId;
  if (fields?.trace) {
    const { traceId, spanId } = fields.trace.span.spanContext();
    info.trace_id = traceId;
    info.span_id = spanId;
  }
  for (const key of Object.keys(info)) {
    if (key === "level" || key === "message") continue;
    info[key] = SECRET_KEY.test(key) ? "[redacted]" : redact(info[key]);
  }
  return info;
});

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
  return winston.createLogger({
    level,
    format: winston.format.combine(contextFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console()],
  });
}
