import http2 from "node:http2";

/**
 * Time limits HTTP/2 itself does not have in Node: its server has no
 * equivalent of HTTP/1.1's headersTimeout and requestTimeout, and an idle
 * session lives for ever. Without them one client could hold a connection
 * that never sends a request, streams whose bodies never end, and sessions
 * nobody uses, each costing memory until the process runs out.
 */

export interface SessionLimits {
  /** A new session must open its first stream within this long. */
  readonly firstRequestTimeoutMs: number;
  /** A session with no open stream is closed after this long. */
  readonly idleTimeoutMs: number;
}

/**
 * Closes (GOAWAY) a session that opens no stream in time, or that sits with
 * no open stream for `idleTimeoutMs`. Idleness is counted in streams, not
 * frames, so PINGs or SETTINGS do not keep a session alive. Closing is
 * graceful: a client that wants the service opens a new connection.
 */
export function guardSession(session: http2.ServerHttp2Session, limits: SessionLimits): void {
  let open = 0;
  const closeLater = (ms: number) => setTimeout(() => session.close(), ms).unref();
  let timer: NodeJS.Timeout | undefined = closeLater(limits.firstRequestTimeoutMs);
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    stop();
    stream.once("close", () => {
      open--;
      if (open === 0 && !session.closed && !session.destroyed) {
        timer = closeLater(limits.idleTimeoutMs);
      }
    });
  });
  session.once("close", stop);
}

/** After the deadline, a handler that answered gets this long to finish before its half-sent request is cut. */
export const STREAM_DEADLINE_GRACE_MS = 1000;

/**
 * The request on `stream` (headers and body) must have arrived within
 * `requestTimeoutMs` of the stream opening; otherwise the stream is reset
 * (RST_STREAM CANCEL). A handler that answers slow bodies itself (the REST
 * routes reply 408) gets {@link STREAM_DEADLINE_GRACE_MS} more to do so.
 * Only receiving is bounded: a Watch stream whose request ended may stay
 * open as long as the client wants (the Watch caps bound those).
 */
export function guardStream(stream: http2.ServerHttp2Stream, requestTimeoutMs: number): void {
  const received = () => stream.closed || stream.destroyed || stream.state.remoteClose === 1;
  const timer = setTimeout(() => {
    if (received()) return;
    const cut = setTimeout(() => {
      if (!received()) stream.close(http2.constants.NGHTTP2_CANCEL);
    }, STREAM_DEADLINE_GRACE_MS);
    cut.unref();
    stream.once("close", () => clearTimeout(cut));
  }, requestTimeoutMs);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}
