import { readdir, readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { SMTPServer } from "smtp-server";

/** One message as an SMTP server received it. */
export interface ReceivedMail {
  readonly to: string[];
  readonly raw: string;
  readonly mime: MimePart;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly url: string;
  readonly received: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server (smtp-server) on 127.0.0.1, accepting every message
 * without authentication or TLS. `port` 0 picks a free one; `delayMs` makes
 * it slow to accept each message's data.
 */
export async function startSmtpServer(opts: { port?: number; delayMs?: number } = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const to = session.envelope.rcptTo.map((r) => r.address);
        setTimeout(() => {
          received.push({ to, raw, mime: parseMime(raw) });
          callback();
        }, opts.delayMs ?? 0);
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    const net = server.listen(opts.port ?? 0, "127.0.0.1", () => resolve((net.address() as AddressInfo).port));
  });
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A free TCP port on 127.0.0.1 with nothing listening on it (for "the mail server is down"). */
export async function freePort(): Promise<number> {
  const probe = await startSmtpServer();
  await probe.close();
  return probe.port;
}

export interface MimePart {
  readonly headers: ReadonlyMap<string, string>;
  /** Lower-cased media type without parameters, e.g. "multipart/alternative". */
  readonly type: string;
  /** Decoded body of a leaf part; empty for a multipart. */
  readonly body: string;
  readonly parts: readonly MimePart[];
}

/**
 * Just enough of RFC 2045/2046 to read what nodemailer writes: unfolded
 * headers, nested multiparts, quoted-printable and base64 bodies.
 */
export function parseMime(raw: string): MimePart {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const head = split < 0 ? text : text.slice(0, split);
  const content = split < 0 ? "" : text.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const contentType = headers.get("content-type") ?? "text/plain";
  const type = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (type.startsWith("multipart/")) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1] ?? "";
    const parts = content
      .split(`--${boundary}`)
      .slice(1)
      .filter((p) => !p.startsWith("--"))
      .map((p) => parseMime(p.replace(/^\n/, "")));
    return { headers, type, body: "", parts };
  }
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  let body = content;
  if (encoding === "quoted-printable") {
    const bytes = content
      .replace(/=\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    body = Buffer.from(bytes, "latin1").toString("utf8");
  } else if (encoding === "base64") {
    body = Buffer.from(content.replace(/\s+/g, ""), "base64").toString("utf8");
  }
  return { headers, type, body, parts: [] };
}

/** The leaf part of a given type, searching nested multiparts. */
export function partOfType(mime: MimePart, type: string): MimePart | undefined {
  if (mime.type === type) return mime;
  for (const p of mime.parts) {
    const found = partOfType(p, type);
    if (found) return found;
  }
  return undefined;
}

/** The token in the first link of `text` that carries `?token=`. */
export function tokenIn(text: string): string | undefined {
  return /[?&]token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
}

/** Every .eml message written to `dir` so far (none when it does not exist yet). */
export async function mailFiles(dir: string): Promise<Array<{ name: string; raw: string; mime: MimePart }>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".eml")).sort();
  } catch {
    return [];
  }
  return Promise.all(
    names.map(async (name) => {
      const raw = await readFile(join(dir, name), "utf8");
      return { name, raw, mime: parseMime(raw) };
    }),
  );
}

/** The caller an access token stands for (its `sub` and `sid`), as the account calls take it. */
export function callerOf(accessToken: string): { userId: string; sessionId: string } {
  const claims = decodeJwt(accessToken);
  return { userId: String(claims.sub), sessionId: String(claims.sid) };
}
