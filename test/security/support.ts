import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { AuthClient } from "../helpers/clients.js";
import type { TestServer } from "../helpers/server.js";

/** What a call ended in: "ok" or the ErrorInfo reason, plus the RetryInfo delay. */
export interface Outcome {
  readonly reason: string;
  readonly code?: Code;
  readonly message?: string;
  readonly retryMs?: number;
}

export async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return { reason: "ok" };
  } catch (e) {
    if (!(e instanceof ConnectError)) throw e;
    const retry = e.findDetails(RetryInfoSchema)[0]?.retryDelay;
    return {
      reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? `no ErrorInfo (${Code[e.code]})`,
      code: e.code,
      message: e.rawMessage,
      retryMs: retry ? Number(retry.seconds) * 1000 + Math.round(retry.nanos / 1e6) : undefined,
    };
  }
}

/** A login as if forwarded by a trusted proxy for `address`. */
export const loginFrom = (client: AuthClient, address: string, emailOrUsername: string, password: string) =>
  outcome(client.login({ emailOrUsername, password }, { headers: { "x-forwarded-for": address } }));

/** The n-th address of a private range, for requests that must each come from somewhere else. */
export const addressNo = (n: number, prefix = 10) => `${prefix}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** The audit lines a server has logged so far, optionally of one event. */
export const auditLines = (server: TestServer, event?: string) =>
  server.logs.filter((l) => l.message === "audit" && (event === undefined || l.event === event));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
