import { ConnectError, type HandlerContext } from "@connectrpc/connect";

/**
 * PATCH for @connectrpc/connect-node 2.2.0 (with @connectrpc/connect 2.2.0,
 * whose protocol handler factories raise these errors).
 *
 * Works around: errors the Connect-ES runtime raises itself, before any
 * interceptor runs, cannot be given an application's error shape. A request
 * body that does not decode is answered INTERNAL "parse binary: …" (binary)
 * or INVALID_ARGUMENT (JSON), a body over `readMaxBytes` RESOURCE_EXHAUSTED,
 * an unknown compression or a bad timeout header their own codes — all with
 * no error details, so no ErrorInfo reason and no request id, and an
 * undecodable message counts as a server fault. The runtime offers no hook
 * around message parsing (BinaryReadOptions has no reader factory, and the
 * serialisation catches and re-codes whatever a parser throws), and error
 * interceptors never see these errors. No upstream Connect-ES issue tracks
 * this; the same gap in connect-go is connectrpc/connect-go#584 ("Generic and
 * custom handling for errors that occur before interceptors/endpoints"), and
 * connectrpc/connectrpc.com#169 asks the spec to say how invalid requests
 * are answered.
 *
 * How: what the runtime does do, on every protocol, is abort the call's
 * context with the error just before it serialises it, and the request gate
 * runs for every call before its body is read. So the gate listens on that
 * signal and rewrites the error in place (code, message, details).
 *
 * Remove it when test/patches/connect-runtime-errors.test.ts fails: that
 * test asserts the upstream behaviour on a bare adapter without this patch.
 */
export function createRuntimeErrorGate(
  reshape: (error: ConnectError, context: HandlerContext) => ConnectError | undefined,
): (context: HandlerContext) => void {
  return (context) => {
    const signal = context.signal;
    signal.addEventListener(
      "abort",
      () => {
        const error: unknown = signal.reason;
        if (!(error instanceof ConnectError)) return;
        const shaped = reshape(error, context);
        if (shaped !== undefined) overwrite(error, shaped);
      },
      { once: true },
    );
  };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The runtime goes on to serialise the very object it aborted with, so it is changed in place. */
function overwrite(target: Writable<ConnectError>, shaped: ConnectError): void {
  target.code = shaped.code;
  target.rawMessage = shaped.rawMessage;
  target.message = shaped.message;
  target.details = shaped.details;
}
