import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

const PROD = {
  NODE_ENV: "production",
  DATABASE_URL: "postgresql://h/db",
  JWT_KEYS_DIR: "/keys",
  MFA_ENCRYPTION_KEYS: `k1:${"A".repeat(43)}=`,
};

describe("mail settings", () => {
  it("when nothing is set, then there is no SMTP server, 1 h and 24 h links, and the example pages as link targets", () => {
    const { mail } = loadConfig({});
    expect(mail.smtpUrl).toBeUndefined();
    expect(mail.resetTokenTtlSeconds).toBe(3600);
    expect(mail.verifyTokenTtlSeconds).toBe(86_400);
    expect(mail.passwordResetUrl).toContain("{token}");
    expect(mail.emailVerificationUrl).toContain("{token}");
  });

  it("when SMTP_URL, MAIL_FROM or a link template is malformed, then the error names each of them", () => {
    expect(() =>
      loadConfig({
        SMTP_URL: "http://mail:25",
        MAIL_FROM: "not an address",
        PASSWORD_RESET_URL: "https://app.test/reset",
        EMAIL_VERIFICATION_URL: "ftp://x/{token}",
      }),
    ).toThrow(/SMTP_URL[\s\S]*MAIL_FROM[\s\S]*PASSWORD_RESET_URL[\s\S]*EMAIL_VERIFICATION_URL/);
  });

  it("when MAIL_FROM is an address or Name <address>, then it is accepted as given", () => {
    expect(loadConfig({ MAIL_FROM: "auth@example.com" }).mail.from).toBe("auth@example.com");
    expect(loadConfig({ MAIL_FROM: "Example Auth <auth@example.com>" }).mail.from).toBe(
      "Example Auth <auth@example.com>",
    );
    expect(loadConfig({ SMTP_URL: "smtps://u:p@mail.example.com:465" }).mail.smtpUrl).toBe(
      "smtps://u:p@mail.example.com:465",
    );
  });

  it("when production sends mail, then the sender and both links must be set explicitly", () => {
    expect(() => loadConfig({ ...PROD, SMTP_URL: "smtp://mail:587" })).toThrow(/MAIL_FROM/);
    const full = {
      ...PROD,
      SMTP_URL: "smtp://mail:587",
      MAIL_FROM: "auth@example.com",
      PASSWORD_RESET_URL: "https://example.com/reset?token={token}",
    };
    expect(() => loadConfig(full)).toThrow(/EMAIL_VERIFICATION_URL/);
    expect(loadConfig({ ...full, EMAIL_VERIFICATION_URL: "https://example.com/verify?token={token}" }).env).toBe(
      "production",
    );
    // Without SMTP_URL production starts (and warns at start that mail cannot be sent).
    expect(loadConfig(PROD).mail.smtpUrl).toBeUndefined();
  });
});
