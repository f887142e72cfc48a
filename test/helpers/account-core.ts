import { decodeJwt } from "jose";
import { createAccountRepository } from "../../src/db/account-repository.js";
import { guarded } from "../../src/db/resilience.js";
import type { AccountCaller, PasswordPolicyCheck } from "../../src/domain/account-ports.js";
import { type AccountService, createAccountService } from "../../src/domain/account-service.js";
import type { FieldViolation } from "../../src/domain/errors.js";
import { combineEvents } from "../../src/domain/events.js";
import { type Clock, systemClock } from "../../src/domain/ports.js";
import { checkPasswordChoice } from "../../src/domain/validation.js";
import { createBcryptHasher } from "../../src/passwords/bcrypt-hasher.js";
import { createAbuseGuard } from "../../src/rate-limit/abuse-guard.js";
import { createMailRequestLimiter } from "../../src/rate-limit/mail-limits.js";
import { openLimiterStore } from "../../src/rate-limit/stores.js";
import { createAuditLog } from "../../src/transport/audit-log.js";
import type { TestServer } from "./server.js";

/** The name rule of Register's policy (no blocklist needed here): enough to see a refusal. */
const namePolicy: PasswordPolicyCheck = (password, identity) => {
  const out: FieldViolation[] = [];
  checkPasswordChoice(password, identity, undefined, out);
  return out[0]?.description ?? null;
};

/**
 * The account service assembled from a running test server's own parts
 * (its ORM, database guard, clock, mail composer and dispatcher, logger and
 * metrics; `clock` must be the server's), the way the composition root will assemble it once the
 * AccountService handlers exist. Users and sessions are made over the
 * network with the server's AuthService.
 */
export async function accountServiceOf(
  server: TestServer,
  clock: Clock = systemClock,
): Promise<{
  account: AccountService;
  close(): Promise<void>;
}> {
  const { app } = server;
  const { config } = app;
  const store = await openLimiterStore(config.rateLimit, config.database, app.logger);
  const audit = createAuditLog(app.logger);
  const events = combineEvents(audit, app.metrics.events);
  const account = createAccountService({
    accounts: guarded(createAccountRepository(app.orm), app.dbGuard),
    passwords: createBcryptHasher(config.password.bcryptRounds, app.hashLimiter),
    mail: app.mail.composer,
    mailSignal: app.mail.signal,
    clock,
    events,
    passwordPolicy: namePolicy,
    loginGuard: createAbuseGuard(config.rateLimit, store, audit),
    mailLimiter: createMailRequestLimiter(config.mail, store, events),
    policy: {
      passwordMinLength: config.password.minLength,
      resetTokenTtlSeconds: config.mail.resetTokenTtlSeconds,
      verifyTokenTtlSeconds: config.mail.verifyTokenTtlSeconds,
      accountMailLimit: config.mail.accountLimit,
      accountMailWindowSeconds: config.mail.accountWindowSeconds,
    },
  });
  return { account, close: () => store.close() };
}

/** The caller an access token stands for (its `sub` and `sid`). */
export function callerOf(accessToken: string): AccountCaller {
  const claims = decodeJwt(accessToken);
  return { userId: String(claims.sub), sessionId: String(claims.sid) };
}
