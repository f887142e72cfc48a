import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Transporter } from "nodemailer";
import type { ClaimedMail } from "./outbox.js";

/** Hands one message to the outside world; rejects when it could not. */
export interface MailTransport {
  /** For the start-up log line: where mail goes. */
  readonly description: string;
  send(mail: ClaimedMail): Promise<void>;
  close(): void;
}

/**
 * nodemailer is loaded when the first message is sent, not at start: its
 * module graph takes ~0.4 s to load, which start-up (and every replica's
 * readiness) should not pay for mail that may never be sent.
 */
let nodemailer: Promise<typeof import("nodemailer")> | undefined;
const loadNodemailer = () => (nodemailer ??= import("nodemailer"));

/** Builds the transporter on first use and keeps it. */
function lazily<T extends Transporter>(make: (m: typeof import("nodemailer")) => T): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= loadNodemailer().then(make));
}

/** How long one SMTP exchange may take; a hung server must not hold a claimed message for long. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };

/**
 * The Message-ID is derived from the outbox row, so if a message is ever
 * sent twice (a replica died between handing it to the server and marking
 * it sent) receivers can tell the copies are one message.
 */
function envelope(mail: ClaimedMail, from: string) {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? "warden.invalid";
  return {
    from,
    to: mail.to,
    subject: mail.subject,
    // Both parts make a multipart/alternative message; the text part comes first, as RFC 2046 orders them.
    text: mail.text,
    html: mail.html,
    messageId: `<${mail.id}@${domain}>`,
    headers: { "Auto-Submitted": "auto-generated" },
  };
}

/**
 * SMTP via nodemailer: `smtp://user:pass@host:port` (STARTTLS when the
 * server offers it) or `smtps://` (TLS from the first byte). One connection
 * per message: volumes are small and a fresh connection has no stale state
 * after the server was down. nodemailer's own logger stays off, since it
 * would print credentials and message bodies.
 */
export function createSmtpTransport(url: string, from: string): MailTransport {
  const transporter = lazily((m) => m.createTransport({ url, ...SMTP_TIMEOUTS, logger: false, debug: false }));
  let made: Transporter | undefined;
  const target = new URL(url);
  return {
    // Never the credentials: scheme, host and port only.
    description: `${target.protocol}//${target.hostname}${target.port ? `:${target.port}` : ""}`,
    async send(mail) {
      made = await transporter();
      await made.sendMail(envelope(mail, from));
    },
    close: () => made?.close(),
  };
}

/**
 * Development without SMTP_URL: each message becomes an .eml file in `dir`,
 * the raw RFC 5322 message as an SMTP server would have received it (open
 * it with any mail client). Files are private to the service's user: they
 * hold live links.
 */
export function createFileTransport(dir: string, from: string): MailTransport {
  const transporter = lazily((m) => m.createTransport({ streamTransport: true, buffer: true, newline: "windows" }));
  return {
    description: `files in ${dir}`,
    async send(mail) {
      const info = await (await transporter()).sendMail(envelope(mail, from));
      const raw = Buffer.isBuffer(info.message) ? info.message : Buffer.from(String(info.message));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replaceAll(":", "-");
      await writeFile(join(dir, `${stamp}-${mail.id}.eml`), raw, { mode: 0o600 });
    },
    close: () => undefined,
  };
}

/**
 * What may be said about a failed send, in a log line or the outbox's
 * last_error: the error code, the SMTP reply code and command, and the
 * first line of the message with anything URL-credential-shaped removed.
 * Never the message content (it holds a live link).
 */
export function describeSendError(e: unknown): { code: string; smtpCode?: number; summary: string } {
  if (!(e instanceof Error)) return { code: "UNKNOWN", summary: "unknown error" };
  const fields = e as Error & { code?: unknown; responseCode?: unknown; command?: unknown };
  const code = typeof fields.code === "string" ? fields.code : e.name;
  const smtpCode = typeof fields.responseCode === "number" ? fields.responseCode : undefined;
  const command = typeof fields.command === "string" ? ` (${fields.command})` : "";
  const line = (e.message.split("\n")[0] ?? "").replace(/\/\/[^/\s@]*@/g, "//***@").slice(0, 300);
  return { code, smtpCode, summary: `${code}${smtpCode ? ` ${smtpCode}` : ""}${command}: ${line}` };
}
