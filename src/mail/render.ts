import type { MailTemplate } from "./templates/template.js";

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

const fill = (template: string, vars: Readonly<Record<string, string>>, encode: (v: string) => string) =>
  template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = vars[name];
    // A placeholder without a value is a bug in the code that calls render, not something to send.
    if (value === undefined) throw new Error(`mail template placeholder without a value: ${whole}`);
    return encode(value);
  });

/**
 * Fills a template. Values go into the text part as they are and into the
 * HTML part escaped, so a username or address can never add markup. The
 * subject takes no placeholders (no header injection to think about).
 */
export function render(
  template: MailTemplate,
  vars: Readonly<Record<string, string>>,
): { subject: string; text: string; html: string } {
  return {
    subject: template.subject,
    text: fill(template.text, vars, (v) => v),
    html: fill(template.html, vars, escapeHtml),
  };
}

/** "1 hour", "24 hours", "30 minutes": how long a link lives, for the message. */
export function describeDuration(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds % 86_400 === 0 && seconds >= 172_800) return plural(seconds / 86_400, "day");
  if (seconds % 3600 === 0) return plural(seconds / 3600, "hour");
  if (seconds % 60 === 0) return plural(seconds / 60, "minute");
  return plural(seconds, "second");
}
