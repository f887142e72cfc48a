import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { EchoService } from "../gen/bench/v1/echo_pb.js";

/**
 * The second baseline: an RPC with no domain work, served by the service's
 * own process through its front, interceptors and per-call log line. Bare
 * echo ÷ this is what our pipeline costs; this ÷ GetCurrentUser is what the
 * handler (token check, database read, mapping) costs. Registered only by
 * bench/service-main.ts, never by the service itself.
 */
export function registerInServiceEcho(router: ConnectRouter): void {
  router.service(EchoService, {
    echo: (req) => ({ message: req.message }),
  } satisfies ServiceImpl<typeof EchoService>);
}
