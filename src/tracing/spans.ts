import type { Span, SpanStatusCode } from "@opentelemetry/api";
import { isDomainError } from "../domain/errors.js";
import { currentLogFields, withLogFields } from "../log-context.js";
import type { ChildSpanOptions, Tracing } from "./tracing.js";

/** SpanStatusCode.ERROR, without loading @opentelemetry/api at run time. */
const STATUS_ERROR: SpanStatusCode = 2;

/** The span that log lines and child spans belong to right now, if a traced call or operation is running. */
export const currentSpan = (): Span | undefined => currentLogFields()?.trace?.span;

/**
 * What a span may say about a failure: the reason of a domain error (from
 * the error table) or the error's class name. Never its message, which can
 * quote SQL values or user input.
 */
export function errorType(e: unknown): string {
  if (isDomainError(e)) return e.reason;
  return e instanceof Error ? e.name : typeof e;
}

/** Marks a span failed: `error.type`, and an ERROR status whose message is that same safe word. */
export function markFailed(span: Span, type: string): void {
  span.setAttribute("error.type", type);
  span.setStatus({ code: STATUS_ERROR, message: type });
}

/**
 * Starts a child of the current span, for work done on behalf of a call (a
 * repository call, a password hash). Undefined outside a traced call, or
 * when the call is not sampled: background work makes no orphan spans, and
 * an unsampled call pays for no children.
 */
export function startChildSpan(tracing: Tracing, name: string, options?: ChildSpanOptions): Span | undefined {
  const parent = currentSpan();
  return parent?.isRecording() ? tracing.startSpan(name, parent, options) : undefined;
}

/**
 * Runs `fn` in a span named `name`: a child of the current span when there
 * is one, else the root of a new trace (work outside any call, such as the
 * mail outbox sending a message). While `fn` runs the span is current: log
 * lines carry its ids and spans started inside are its children. A failure
 * marks the span with {@link errorType} and is rethrown unchanged. With
 * tracing off (`tracing` undefined) this is `fn()` and nothing else.
 *
 * Attributes must never hold a secret: no password, token, code, key,
 * message body or recipient-supplied text.
 */
export async function withSpan<T>(
  tracing: Tracing | undefined,
  name: string,
  fn: () => Promise<T>,
  options?: ChildSpanOptions,
): Promise<T> {
  if (tracing === undefined) return fn();
  const fields = currentLogFields();
  const span = tracing.startSpan(name, fields?.trace?.span, options);
  try {
    return await withLogFields({ requestId: fields?.requestId ?? "", trace: { span } }, fn);
  } catch (e) {
    markFailed(span, errorType(e));
    throw e;
  } finally {
    span.end();
  }
}
