import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import { expect } from "vitest";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

export interface DecodedError {
  code: Code;
  message: string;
  reason?: string;
  domain?: string;
  requestId?: string;
  fields: string[];
  retryDelaySeconds?: bigint;
}

/** Awaits a call that must fail and returns its decoded ConnectError. */
export async function connectFailure(call: Promise<unknown>): Promise<DecodedError & { error: ConnectError }> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail, but it succeeded");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  const e = error as ConnectError;
  const info = e.findDetails(ErrorInfoSchema)[0];
  const bad = e.findDetails(BadRequestSchema)[0];
  const retry = e.findDetails(RetryInfoSchema)[0];
  return {
    error: e,
    code: e.code,
    message: e.rawMessage,
    reason: info?.reason,
    domain: info?.domain,
    requestId: info?.metadata.request_id,
    fields: bad?.fieldViolations.map((v) => v.field) ?? [],
    retryDelaySeconds: retry?.retryDelay?.seconds,
  };
}

/** Decodes the google.rpc.Status that a grpc-js error carries in grpc-status-details-bin. */
export function grpcJsFailure(err: ServiceError | undefined): DecodedError {
  expect(err).toBeDefined();
  const e = err as ServiceError;
  const bin = e.metadata.get("grpc-status-details-bin")[0];
  expect(bin).toBeInstanceOf(Buffer);
  const status = fromBinary(StatusSchema, bin as Buffer);
  let reason: string | undefined;
  let domain: string | undefined;
  let requestId: string | undefined;
  const fields: string[] = [];
  for (const any of status.details) {
    const info = anyUnpack(any, ErrorInfoSchema);
    if (info) {
      reason = info.reason;
      domain = info.domain;
      requestId = info.metadata.request_id;
    }
    const bad = anyUnpack(any, BadRequestSchema);
    if (bad) fields.push(...bad.fieldViolations.map((v) => v.field));
  }
  return { code: e.code as number as Code, message: e.details, reason, domain, requestId, fields };
}

/** What a call ended in: "ok" or the ErrorInfo reason, plus the RetryInfo delay. */
export interface Outcome {
  readonly reason: string;
  readonly code?: Code;
  readonly message?: string;
  readonly retryMs?: number;
}

/** Awaits a call that may fail or not, for tests that count outcomes. */
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
