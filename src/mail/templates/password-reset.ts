import type { MailTemplate } from "./template.js";

/** Placeholders: email, link, validity. */
export const passwordResetTemplate: MailTemplate = {
  subject: "Reset your password",
  text: `Hello,

someone asked to reset the password of the account registered with {{email}}.
To choose a new password, open this link within {{validity}}:

{{link}}

The link works once. If you did not ask for this, ignore this message:
your password stays as it is.
`,
  html: `<!doctype html>
<html>
  <body style="font-family: sans-serif; line-height: 1.5">
    <p>Hello,</p>
    <p>someone asked to reset the password of the account registered with <strong>{{email}}</strong>.
      To choose a new password, open this link within {{validity}}:</p>
    <p><a href="{{link}}">Choose a new password</a></p>
    <p style="font-size: small">Or paste this address into your browser: {{link}}</p>
    <p>The link works once. If you did not ask for this, ignore this message: your password stays as it is.</p>
  </body>
</html>
`,
};
