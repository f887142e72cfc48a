import type { MailTemplate } from "./template.js";

/** Placeholders: username, email, link, validity. */
export const emailVerificationTemplate: MailTemplate = {
  subject: "Confirm your e-mail address",
  text: `Hello {{username}},

please confirm that {{email}} is your e-mail address by opening this link
within {{validity}}:

{{link}}

If you did not create an account, ignore this message.
`,
  html: `<!doctype html>
<html>
  <body style="font-family: sans-serif; line-height: 1.5">
    <p>Hello {{username}},</p>
    <p>please confirm that <strong>{{email}}</strong> is your e-mail address by opening this link within {{validity}}:</p>
    <p><a href="{{link}}">Confirm my e-mail address</a></p>
    <p style="font-size: small">Or paste this address into your browser: {{link}}</p>
    <p>If you did not create an account, ignore this message.</p>
  </body>
</html>
`,
};
