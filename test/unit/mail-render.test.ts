import { describe, expect, it } from "vitest";
import { createMailComposer } from "../../src/mail/compose.js";
import { describeDuration, render } from "../../src/mail/render.js";

describe("mail templates", () => {
  it("when a value holds markup, then the HTML part escapes it and the text part keeps it as typed", () => {
    const out = render(
      { subject: "s", text: "Hi {{name}}: {{link}}", html: '<p>Hi {{name}}</p><a href="{{link}}">x</a>' },
      { name: `<script>alert("x")</script>`, link: "https://a.test/?a=1&token=abc" },
    );
    expect(out.text).toBe(`Hi <script>alert("x")</script>: https://a.test/?a=1&token=abc`);
    expect(out.html).toBe(
      '<p>Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p><a href="https://a.test/?a=1&amp;token=abc">x</a>',
    );
  });

  it("when a placeholder has no value, then rendering refuses rather than sending a broken message", () => {
    expect(() => render({ subject: "s", text: "{{missing}}", html: "" }, {})).toThrow(/missing/);
  });

  it("when the composer renders a reset, then the link template's {token} is replaced and the lifetime is spelled out", () => {
    const composer = createMailComposer({
      passwordResetUrl: "https://app.test/reset?token={token}&x=1",
      emailVerificationUrl: "https://app.test/verify/{token}",
      resetTokenTtlSeconds: 3600,
      verifyTokenTtlSeconds: 86_400,
    });
    const reset = composer.passwordReset({ email: "a@b.test" }, "TOKEN_abc-123");
    expect(reset).toMatchObject({ kind: "password_reset", to: "a@b.test", subject: "Reset your password" });
    expect(reset.text).toContain("https://app.test/reset?token=TOKEN_abc-123&x=1");
    expect(reset.text).toContain("within 1 hour:");
    expect(reset.html).toContain('href="https://app.test/reset?token=TOKEN_abc-123&amp;x=1"');
    const verify = composer.emailVerification({ email: "a@b.test", username: "ann" }, "T2");
    expect(verify.text).toContain("https://app.test/verify/T2");
    expect(verify.text).toContain("24 hours");
  });

  it("when a lifetime is turned into words, then whole units are used", () => {
    expect([3600, 86_400, 1800, 172_800, 90].map(describeDuration)).toEqual([
      "1 hour",
      "24 hours",
      "30 minutes",
      "2 days",
      "90 seconds",
    ]);
  });
});
