import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { AccountService as AccountServiceDesc } from "../gen/auth/v1/account_pb.js";
import { AdminService as AdminServiceDesc } from "../gen/auth/v1/admin_pb.js";
import { AuthService as AuthServiceDesc } from "../gen/auth/v1/auth_pb.js";
import { TokenService as TokenServiceDesc } from "../gen/auth/v1/token_pb.js";
import { Authorization as EnvoyAuthorizationDesc } from "../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import type { AccountService } from "./domain/account-service.js";
import type { AdminService } from "./domain/admin-service.js";
import type { AuthService } from "./domain/auth-service.js";
import type { MfaService } from "./domain/mfa-service.js";
import type { TokenChecks } from "./domain/token-checks.js";
import type { HealthMonitor } from "./health/health-monitor.js";
import type { WatchLimiter } from "./health/watch-limiter.js";
import { registerReflection } from "./reflection/reflection-service.js";
import { createAccountHandlers } from "./transport/account-handlers.js";
import { createAdminHandlers } from "./transport/admin-handlers.js";
import { createAuthHandlers } from "./transport/auth-handlers.js";
import { createEnvoyAuthzHandlers } from "./transport/envoy-authz.js";
import { createHealthHandlers } from "./transport/health-handlers.js";
import { createMfaHandlers } from "./transport/mfa-handlers.js";
import { createTokenHandlers } from "./transport/token-handlers.js";

/** The domain services the RPC handlers call. */
export interface Services {
  readonly auth: AuthService;
  readonly tokenChecks: TokenChecks;
  readonly admin: AdminService;
  readonly account: AccountService;
  /** The second factor (AccountService's TOTP RPCs; `resetUserMfa` for AdminService). */
  readonly mfa: MfaService;
}

/** One Connect service this server serves: its descriptor and its handlers. */
export interface ServedService {
  readonly desc: DescService;
  register(router: ConnectRouter): void;
}

const serve = <S extends DescService>(desc: S, impl: ServiceImpl<S>): ServedService => ({
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
  watchLimiter?: WatchLimiter,
): Routes {
  const served: readonly ServedService[] = [
    serve(AuthServiceDesc, createAuthHandlers(services.auth)),
    serve(AdminServiceDesc, createAdminHandlers(services.admin)),
    serve(TokenServiceDesc, createTokenHandlers(services.tokenChecks)),
    serve(EnvoyAuthorizationDesc, createEnvoyAuthzHandlers(services.tokenChecks)),
    // AccountService: the account lifecycle and the second factor, in one service.
    serve(AccountServiceDesc, {
      ...createAccountHandlers(services.auth, services.account),
      ...createMfaHandlers(services.auth, services.mfa),
    }),
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
          watchLimiter,
        ),
      );
      registerReflection(router, [...descs, Health]);
      extra?.(router);
    },
  };
}
