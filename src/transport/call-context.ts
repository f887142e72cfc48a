import { randomUUID } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import type { RequestMeta } from "../domain/types.js";
import type { CallSpan } from "../tracing/call-span.js";

/**
 * What the service knows about the call it is serving, built once per HTTP
 * request by the front (src/transport/front.ts) and handed on explicitly:
 * to interceptors and handlers as a Connect context value, to the plain
 * HTTP routes as an argument, and to the domain as the {@link RequestMeta}
 * it is.
 */
export interface CallContext extends RequestMeta {
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** The call's server span; undefined whenever tracing is off. */
  readonly trace?: CallSpan;
}

/** The context of a call that did not come through the front (none in the service; a safe default). */
const UNKNOWN_CALL: CallContext = { requestId: "", clientAddress: "unknown", userAgent: "", startedAt: 0 };

/** The call context, as interceptors and handlers read it from Connect's context values. */
export const CALL_CONTEXT = createContextKey<CallContext>(UNKNOWN_CALL, { description: "warden call context" });

/** Set for calls that arrived through a REST route rather than an RPC protocol. */
export const VIA_REST = createContextKey<boolean>(false, { description: "warden REST call" });

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a well-formed incoming x-request-id, otherwise makes a fresh UUID. */
export function acceptRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value !== undefined && REQUEST_ID.test(value) ? value : randomUUID();
}
