import type { Config } from "../config.js";
import type { MailRequestLimiter } from "../domain/account-ports.js";
import type { AuthEvents } from "../domain/events.js";
import { consume, rateLimited } from "./abuse-guard.js";
import type { LimiterStore } from "./stores.js";

/**
 * The per-address limit of calls that send mail (RequestPasswordReset,
 * SendVerificationEmail): MAIL_ADDRESS_LIMIT per MAIL_ADDRESS_WINDOW_SECONDS,
 * in the same store as the login limits. The per-account limit is not here:
 * it must stay silent, so the repository applies it inside the write.
 */
export function createMailRequestLimiter(
  mail: Config["mail"],
  store: LimiterStore,
  events: AuthEvents,
): MailRequestLimiter {
  const perAddress = store.make({
    prefix: "mail_address",
    points: mail.addressLimit,
    duration: mail.addressWindowSeconds,
  });
  return {
    async checkAddress(clientAddress) {
      const res = await consume(perAddress, clientAddress);
      if (res.consumedPoints <= perAddress.points) return;
      if (res.consumedPoints === perAddress.points + 1)
        events.emit({ event: "rate_limited", outcome: "blocked", reason: "mail_address" });
      throw rateLimited(res.msBeforeNext);
    },
  };
}
