import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { DomainError } from "../domain/errors.js";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { WatchLimiter } from "../health/watch-limiter.js";
import { clientKey } from "../net/ip-address.js";
import { CALL_CONTEXT } from "./call-context.js";
import { toConnectError, toWireError } from "./errors.js";

const statusOf = (serving: boolean) => (serving ? Status.SERVING : Status.NOT_SERVING);

/**
 * grpc.health.v1.Health over the monitor, for the overall server ("") and
 * each named service. Unknown names get NOT_FOUND from Check and, as the
 * gRPC health spec asks, SERVICE_UNKNOWN from Watch. Watch streams end
 * right after they report NOT_SERVING for a shutdown, so they never hold
 * the drain up. With a `watchLimiter`, a Watch past its caps is refused with
 * RESOURCE_EXHAUSTED / RATE_LIMITED and a RetryInfo.
 */
export function createHealthHandlers(
  monitor: HealthMonitor,
  services: readonly string[],
  watchLimiter?: WatchLimiter,
): ServiceImpl<typeof Health> {
  const known = new Set(["", ...services]);
  return {
    check(req) {
      if (!known.has(req.service)) throw new ConnectError("unknown service", Code.NotFound);
      return { status: statusOf(monitor.serving) };
    },
    list() {
      const status = statusOf(monitor.serving);
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
    watch: (req, ctx) => watch(monitor, known.has(req.service), ctx, watchLimiter),
  };
}

/** How long a refused Watch is told to wait: about when a slot may have freed up, not a promise. */
const WATCH_RETRY_AFTER_MS = 5000;

async function* watch(monitor: HealthMonitor, known: boolean, ctx: HandlerContext, limiter?: WatchLimiter) {
  const call = ctx.values.get(CALL_CONTEXT);
  const release = limiter ? limiter.acquire(clientKey(call?.clientAddress ?? "unknown")) : () => undefined;
  if (release === null) {
    // Streaming errors pass the error interceptor by, so the contract's details are added here.
    const refusal = new DomainError("RATE_LIMITED", "too many health watches open; try again later", {
      retryAfterMs: WATCH_RETRY_AFTER_MS,
    });
    throw toConnectError(toWireError(refusal), call?.requestId ?? "");
  }
  const changes: boolean[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = monitor.subscribe((serving) => {
    changes.push(serving);
    wake?.();
  });
  const onAbort = () => wake?.();
  ctx.signal.addEventListener("abort", onAbort);
  try {
    let sent = monitor.serving;
    yield { status: known ? statusOf(sent) : Status.SERVICE_UNKNOWN };
    while (!ctx.signal.aborted && !(monitor.shuttingDown && changes.length === 0)) {
      const next = changes.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (known && next !== sent) {
        sent = next;
        yield { status: statusOf(sent) };
      }
    }
  } finally {
    unsubscribe();
    ctx.signal.removeEventListener("abort", onAbort);
    release();
  }
}
