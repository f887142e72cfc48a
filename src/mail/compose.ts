import type { AccountMail } from "../domain/account-ports.js";
import { describeDuration, render } from "./render.js";
import { emailVerificationTemplate } from "./templates/email-verification.js";
import { passwordResetTemplate } from "./templates/password-reset.js";

export interface MailLinks {
  /** Link templates in which `{token}` is replaced (PASSWORD_RESET_URL, EMAIL_VERIFICATION_URL). */
  readonly passwordResetUrl: string;
  readonly emailVerificationUrl: string;
  readonly resetTokenTtlSeconds: number;
  readonly verifyTokenTtlSeconds: number;
}

/**
 * Renders the account messages from the templates in ./templates. Tokens are
 * URL-safe (base64url), so they go into the link as they are.
 */
export function createMailComposer(links: MailLinks): AccountMail {
  const link = (template: string, token: string) => template.replaceAll("{token}", token);
  return {
    passwordReset(to, token) {
      const body = render(passwordResetTemplate, {
        email: to.email,
        link: link(links.passwordResetUrl, token),
        validity: describeDuration(links.resetTokenTtlSeconds),
      });
      return { kind: "password_reset", to: to.email, ...body };
    },
    emailVerification(to, token) {
      const body = render(emailVerificationTemplate, {
        username: to.username,
        email: to.email,
        link: link(links.emailVerificationUrl, token),
        validity: describeDuration(links.verifyTokenTtlSeconds),
      });
      return { kind: "email_verification", to: to.email, ...body };
    },
  };
}
