import type { Config } from "../config.js";
import type { MailRequestLimiter } from "../domain/account-ports.js";
import type { AuthEvents } from "../domain/events.js";
import { spendAllowance } from "./abuse-guard.js";
import type { LimiterStore } from "./stores.js";

/**
 * The per-address limits of the calls around mailed links, in the same store
 * as the login limits (so they hold across replicas): MAIL_ADDRESS_LIMIT per
 * MAIL_ADDRESS_WINDOW_SECONDS for the calls that send mail
 * (RequestPasswordReset, SendVerificationEmail), and as many again, counted
 * apart, for the calls that redeem a link's token (ResetPassword,
 * VerifyEmail): a token cannot be guessed (256 bits), but no address gets
 * to try. Counted per IPv4 address or IPv6 /64, as Login's limits are.
 * The per-account limit of mail is not here: it must stay silent,
 * so the repository applies it inside the write.
 */
export function createMailRequestLimiter(
  mail: Config["mail"],
  store: LimiterStore,
  events: AuthEvents,
): MailRequestLimiter {
  const limit = (scope: string) => {
    const perAddress = store.make({ prefix: scope, points: mail.addressLimit, duration: mail.addressWindowSeconds });
    return (clientAddress: string) => spendAllowance(perAddress, scope, clientAddress, events);
  };
  return { checkAddress: limit("mail_address"), checkRedemption: limit("mail_token_address") };
}
