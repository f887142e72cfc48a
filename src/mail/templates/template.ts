/**
 * A message template: `{{name}}` placeholders, filled by render.ts (escaped
 * for HTML in the HTML part). Templates are TypeScript modules rather than
 * .txt/.html files so they compile into dist/ with the rest of the code.
 */
export interface MailTemplate {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}
