import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { EchoService } from "../../gen/bench/v1/echo_pb.js";

/**
 * The benchmark's baseline: an RPC with no domain work, served through the
 * same adapter and interceptor chain as AuthService, so that a benchmark can
 * divide by it to see what Connect itself costs. Registered only when
 * BENCH_ECHO=true.
 */
export function registerBenchEcho(router: ConnectRouter): void {
  router.service(EchoService, {
    echo: (req) => ({ message: req.message }),
  } satisfies ServiceImpl<typeof EchoService>);
}
