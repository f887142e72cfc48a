import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";

/**
 * What the service knows about the call it is serving. Held in
 * AsyncLocalStorage so the logger and audit events find the request id and
 * client address anywhere below the handler, domain code included, without
 * threading them through every argument list.
 */
export interface CallContext {
  readonly requestId: string;
  /** The client address: the socket peer, or x-forwarded-for from a trusted proxy. */
  readonly clientAddress: string;
  readonly startedAt: number;
  /** Set for calls that arrived through a REST route rather than an RPC protocol. */
  readonly protocol?: "rest";
}

export const callStorage = new AsyncLocalStorage<CallContext>();

export const currentCall = (): CallContext | undefined => callStorage.getStore();

/** The same context, for interceptors and handlers that read Connect's context values. */
export const CALL_CONTEXT = createContextKey<CallContext | undefined>(undefined, {
  description: "warden call context",
});

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a well-formed incoming x-request-id, otherwise makes a fresh UUID. */
export function acceptRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value !== undefined && REQUEST_ID.test(value) ? value : randomUUID();
}
