import { AsyncLocalStorage } from "node:async_hooks";
import type { Span } from "@opentelemetry/api";

/**
 * The fields every log line written while serving a call carries: its
 * request id, and while the call is traced the ids of the span being worked
 * on. The one use of AsyncLocalStorage in the service — a log line may be
 * written anywhere below a handler, and threading a logger through every
 * call for one field would cost more than it explains. The same store
 * carries the current span, so that a child span (a repository call, a
 * password hash) finds its parent without a global OpenTelemetry context
 * manager. Everything else a call needs (client address, user agent) is
 * passed as an argument.
 */
export interface LogFields {
  readonly requestId: string;
  /** Set only while tracing is on: the span that log lines and child spans belong to. */
  readonly trace?: TraceScope;
}

/** The span being worked on; the server span of a call also hears of the call's failure. */
export interface TraceScope {
  readonly span: Span;
  /** Records why the call failed (the first failure wins); only the call's own server span has it. */
  fail?(reason: string, code: number): void;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` so that log lines written inside it, however deep, carry `fields`. */
export const withLogFields = <T>(fields: LogFields, fn: () => T): T => storage.run(fields, fn);

/** The fields of the call being served, if any. */
export const currentLogFields = (): LogFields | undefined => storage.getStore();

/**
 * Runs `fn` outside any call: background work started from inside a call
 * (a timer set by a handler) would otherwise inherit that call's request id
 * and span, and its log lines and spans would name a call long answered.
 */
export const outsideAnyCall = <T>(fn: () => T): T => storage.exit(fn);
