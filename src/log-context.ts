import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The fields every log line written while serving a call carries: its
 * request id. The one use of AsyncLocalStorage in the service — a log line
 * may be written anywhere below a handler, and threading a logger through
 * every call for one field would cost more than it explains. Everything
 * else a call needs (client address, user agent) is passed as an argument.
 */
export interface LogFields {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` so that log lines written inside it, however deep, carry `fields`. */
export const withLogFields = <T>(fields: LogFields, fn: () => T): T => storage.run(fields, fn);

/** The fields of the call being served, if any. */
export const currentLogFields = (): LogFields | undefined => storage.getStore();
