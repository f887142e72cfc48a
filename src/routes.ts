import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { AccountService as AccountServiceDesc } from "../gen/auth/v1/account_pb.js";
import { AuthService as AuthServiceDesc } from "../gen/auth/v1/auth_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import type { AuthService } from "./domain/auth-service.js";
import type { MfaService } from "./domain/mfa-service.js";
import type { HealthMonitor } from "./health/health-monitor.js";
import { createHealthHandlers } from "./health/health-service.js";
import { registerReflection } from "./reflection/reflection-service.js";
import { createAuthHandlers } from "./transport/auth-handlers.js";
import { createMfaHandlers } from "./transport/mfa-handlers.js";

/** The domain services the RPC handlers call. */
export interface Services {
  readonly auth: AuthService;
  /** The second factor (AccountService's TOTP RPCs; `resetUserMfa` for AdminService). */
  readonly mfa: MfaService;
}

/** One Connect service this server serves: its descriptor and its handlers. */
export interface ServedService {
  readonly desc: DescService;
  register(router: ConnectRouter): void;
}

// Partial while AccountService is served by more than one branch's handlers
// (an RPC left out answers UNIMPLEMENTED); back to ServiceImpl<S> once complete.
const serve = <S extends DescService>(desc: S, impl: Partial<ServiceImpl<S>>): ServedService => ({
  desc,
  register: (router) => router.service(desc, impl),
});

export interface Routes {
  /** Registers every service on a router (the RPC paths and the in-process REST hop share it). */
  readonly routes: (router: ConnectRouter) => void;
  /** The application's services, whose `google.api.http` annotations become REST routes. */
  readonly served: readonly DescService[];
}

/**
 * Every Connect service of the server, in one list: a new service is one
 * line in `served` below. Health and reflection describe whatever is on the
 * list; `extra` adds routes that are served but not advertised (the
 * benchmark's echo service).
 */
export function createRoutes(
  services: Services,
  health: HealthMonitor,
  extra?: (router: ConnectRouter) => void,
): Routes {
  const served: readonly ServedService[] = [
    serve(AuthServiceDesc, createAuthHandlers(services.auth)),
    serve(AccountServiceDesc, { ...createMfaHandlers(services.auth, services.mfa) }),
  ];
  const descs = served.map((s) => s.desc);
  return {
    served: descs,
    routes: (router) => {
      for (const s of served) s.register(router);
      router.service(
        Health,
        createHealthHandlers(
          health,
          descs.map((d) => d.typeName),
        ),
      );
      registerReflection(router, [...descs, Health]);
      extra?.(router);
    },
  };
}
