import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  DomainError,
  failedPrecondition,
  forbidden,
  notFound,
  serviceUnavailable,
  validationError,
} from "../../src/domain/errors.js";
import { toConnectError, toWireError } from "../../src/transport/errors.js";

describe("the error mapping", () => {
  it.each([
    [forbidden(), "FORBIDDEN", Code.PermissionDenied, 403],
    [notFound("session"), "NOT_FOUND", Code.NotFound, 404],
    [failedPrecondition("no TOTP enrolment to confirm"), "FAILED_PRECONDITION", Code.FailedPrecondition, 412],
  ] as const)("when the domain throws %s, then it is %s with its code and HTTP status", (error, reason, code, http) => {
    expect(toWireError(error)).toMatchObject({ reason, code, httpStatus: http, message: error.message });
  });

  it("when a handler throws something unexpected, then it is INTERNAL_ERROR with a generic message and the cause kept for the log", () => {
    const cause = new Error("select * from sessions where token = 'secret'");
    const w = toWireError(cause);
    expect(w).toMatchObject({
      reason: "INTERNAL_ERROR",
      code: Code.Internal,
      httpStatus: 500,
      message: "internal error",
    });
    expect(w.hidden).toBe(cause);
    expect(toWireError(new DomainError("INTERNAL_ERROR", "db said: secret")).message).toBe("internal error");
  });

  it("when the database is down, then the message is generic and the driver's error is only kept for the log", () => {
    const w = toWireError(serviceUnavailable(new Error("connect ECONNREFUSED 127.0.0.1:5432")));
    expect(w).toMatchObject({ reason: "SERVICE_UNAVAILABLE", code: Code.Unavailable, httpStatus: 503 });
    expect(w.message).not.toContain("5432");
  });

  it("when a bare ConnectError arrives, then its code picks the reason: NOT_FOUND for an unknown health service", () => {
    expect(toWireError(new ConnectError("unknown service", Code.NotFound))).toMatchObject({
      reason: "NOT_FOUND",
      code: Code.NotFound,
      httpStatus: 404,
    });
    expect(toWireError(new ConnectError("boom", Code.Unknown)).reason).toBe("INTERNAL_ERROR");
  });

  it("when a wire error went through a ConnectError (the in-process REST hop), then reason, violations and delay come back", () => {
    const violations = validationError([{ field: "email", description: "is required" }]);
    const limited = new DomainError("RATE_LIMITED", "too many attempts", { retryAfterMs: 3000 });
    for (const original of [violations, limited]) {
      const back = toWireError(toConnectError(toWireError(original), "rid"));
      const { hidden: _, ...expected } = toWireError(original);
      expect(back).toEqual(expected);
    }
  });
});
