import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainError } from "../../src/domain/errors.js";
import { authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, queryDatabase, type TestDatabase } from "../helpers/databases.js";
import {
  callerOf,
  freePort,
  partOfType,
  type ReceivedMail,
  startSmtpServer,
  type TestSmtpServer,
  tokenIn,
} from "../helpers/mail.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, TEST_ENV, type TestServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const MAIL_ENV = {
  MAIL_FROM: "Warden Test <auth@example.test>",
  PASSWORD_RESET_URL: "https://app.example.test/reset?token={token}",
  EMAIL_VERIFICATION_URL: "https://app.example.test/verify?token={token}",
  MAIL_POLL_INTERVAL_MS: "100",
  MAIL_RETRY_BASE_MS: "200",
  MAIL_ADDRESS_LIMIT: "1000",
};

let addressCounter = 0;
const client = () => ({
  clientAddress: `10.8.${(++addressCounter >> 8) & 255}.${addressCounter & 255}`,
  userAgent: "mail-test",
});

/** A server of the given kind with its account service; `close` stops both. */
async function serverWithAccount(opts: Parameters<typeof startServer>[0]) {
  const server = await startServer(opts);
  return { server, account: server.app.services.account, close: () => server.close() };
}

async function registered(server: TestServer) {
  const u = uniqueUser("mail");
  const res = await authClient(connectTransport(server.baseUrl)).register(u);
  return { ...u, id: res.user?.id ?? "" };
}

const mailsTo = (smtp: TestSmtpServer, email: string): ReceivedMail[] =>
  smtp.received.filter((m) => m.to.includes(email));

const textOf = (mail: ReceivedMail | undefined) => (mail ? (partOfType(mail.mime, "text/plain")?.body ?? "") : "");

const outboxRow = async (server: TestServer, userId: string) =>
  (
    await queryDatabase<{ status: string; attempts: number; last_error: string | null }>(
      server.db,
      "select status, attempts, last_error from mail_outbox where user_id = ? order by created_at desc",
      [userId],
    )
  )[0];

const metricsText = async (server: TestServer) => (await fetch(`${server.baseUrl}/metrics`)).text();

/** No log line of `server` holds any of `secrets`. */
function expectNoSecretsLogged(server: TestServer, secrets: readonly string[]) {
  // Every test server logs at debug (TEST_ENV), the level at which the most is written.
  expect(TEST_ENV.LOG_LEVEL).toBe("debug");
  for (const secret of secrets) expect(server.rawLogs.filter((l) => l.includes(secret))).toEqual([]);
}

describe("account mail over SMTP", () => {
  let smtp: TestSmtpServer;
  let sut: Awaited<ReturnType<typeof serverWithAccount>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    sut = await serverWithAccount({ env: { ...MAIL_ENV, SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await sut?.close();
    await smtp?.close();
  });

  it("when a reset is requested, then a multipart/alternative message with the link in both parts arrives, and its token works once", async () => {
    const user = await registered(sut.server);
    await sut.account.requestPasswordReset({ email: user.email }, client());
    await waitFor("the reset message", () => mailsTo(smtp, user.email).length === 1);
    const mail = mailsTo(smtp, user.email)[0];
    expect(mail?.mime.type).toBe("multipart/alternative");
    expect(mail?.mime.headers.get("from")).toBe("Warden Test <auth@example.test>");
    expect(mail?.mime.headers.get("subject")).toBe("Reset your password");
    expect(mail?.mime.headers.get("message-id")).toMatch(/@example\.test>$/);
    const token = tokenIn(textOf(mail)) ?? "";
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(textOf(mail)).toContain(`https://app.example.test/reset?token=${token}`);
    const html = mail ? (partOfType(mail.mime, "text/html")?.body ?? "") : "";
    expect(html).toContain(`href="https://app.example.test/reset?token=${token}"`);
    expect(html).toContain(user.email);

    await sut.account.resetPassword({ token, newPassword: `${user.password}-new` }, client());
    const again = await sut.account
      .resetPassword({ token, newPassword: `${user.password}-2` }, client())
      .catch((e: unknown) => e);
    expect((again as DomainError).reason).toBe("INVALID_TOKEN");

    const metrics = await metricsText(sut.server);
    expect(metricValue(metrics, 'warden_mail_queued_total{kind="password_reset"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'warden_mail_sent_total{kind="password_reset"}')).toBeGreaterThanOrEqual(1);
    expect((await outboxRow(sut.server, user.id))?.status).toBe("sent");
    expectNoSecretsLogged(sut.server, [token]);
  });

  it("when verification is asked for, then a message greeting the user by name arrives and its link verifies the address", async () => {
    const user = await registered(sut.server);
    const res = await authClient(connectTransport(sut.server.baseUrl)).login({
      emailOrUsername: user.email,
      password: user.password,
    });
    await sut.account.sendVerificationEmail(callerOf(res.tokens?.accessToken ?? ""), client());
    await waitFor("the verification message", () => mailsTo(smtp, user.email).length === 1);
    const mail = mailsTo(smtp, user.email)[0];
    const token = tokenIn(textOf(mail)) ?? "";
    expect(textOf(mail)).toContain(`Hello ${user.username},`);
    expect(textOf(mail)).toContain(`https://app.example.test/verify?token=${token}`);
    await sut.account.verifyEmail({ token }, client());
    expectNoSecretsLogged(sut.server, [token]);
  });
});

describe("account mail when the SMTP server is down", () => {
  it("when the server is down as the message is queued and comes up later, then the message still arrives", async () => {
    const port = await freePort();
    const sut = await serverWithAccount({ env: { ...MAIL_ENV, SMTP_URL: `smtp://127.0.0.1:${port}` } });
    let smtp: TestSmtpServer | undefined;
    try {
      const user = await registered(sut.server);
      await sut.account.requestPasswordReset({ email: user.email }, client());
      // At least one attempt failed and the message went back to the queue.
      await waitFor("a failed attempt", async () => {
        const row = await outboxRow(sut.server, user.id);
        return row?.status === "queued" && Number(row.attempts) >= 1 && row.last_error !== null;
      });
      expect(sut.server.logs.some((l) => l.message === "mail send failed; will retry")).toBe(true);
      const waiting = await metricsText(sut.server);
      expect(metricValue(waiting, "warden_mail_oldest_unsent_age_seconds")).toBeGreaterThan(0);

      smtp = await startSmtpServer({ port });
      const up = smtp;
      await waitFor("the message after the server came up", () => mailsTo(up, user.email).length === 1, 20_000);
      await waitFor("the message marked sent", async () => (await outboxRow(sut.server, user.id))?.status === "sent");
      expect(metricValue(await metricsText(sut.server), "warden_mail_oldest_unsent_age_seconds")).toBe(0);
      expectNoSecretsLogged(sut.server, [tokenIn(textOf(mailsTo(up, user.email)[0])) ?? "no token"]);
    } finally {
      await sut.close();
      await smtp?.close();
    }
  });

  it("when the server stays down, then after MAIL_MAX_ATTEMPTS the message is marked failed, counted and logged without secrets", async () => {
    const port = await freePort();
    const sut = await serverWithAccount({
      env: { ...MAIL_ENV, SMTP_URL: `smtp://mailer:s3cret-smtp-pass@127.0.0.1:${port}`, MAIL_MAX_ATTEMPTS: "2" },
    });
    try {
      const user = await registered(sut.server);
      await sut.account.requestPasswordReset({ email: user.email }, client());
      await waitFor("the message given up", async () => (await outboxRow(sut.server, user.id))?.status === "failed");
      const row = await outboxRow(sut.server, user.id);
      expect(Number(row?.attempts)).toBe(2);
      expect(row?.last_error).toMatch(/ECONNECTION|ECONNREFUSED/);
      expect(row?.last_error).not.toContain("s3cret");
      const gaveUp = sut.server.logs.filter((l) => l.message === "mail given up");
      expect(gaveUp).toHaveLength(1);
      expect(gaveUp[0]).toMatchObject({ kind: "password_reset", attempt: 2 });
      const metrics = await metricsText(sut.server);
      expect(metricValue(metrics, 'warden_mail_failed_total{kind="password_reset"}')).toBe(1);
      const [bodies] = await queryDatabase<{ text_body: string }>(
        sut.server.db,
        "select text_body from mail_outbox where user_id = ?",
        [user.id],
      );
      expect(bodies?.text_body).toBe("");
      expectNoSecretsLogged(sut.server, ["s3cret-smtp-pass"]);
    } finally {
      await sut.close();
    }
  });
});

describe.skipIf(!(await postgresAvailable()))("two replicas on one PostgreSQL database", () => {
  let db: TestDatabase;
  let smtp: TestSmtpServer;
  const replicas: Array<Awaited<ReturnType<typeof serverWithAccount>>> = [];

  beforeAll(async () => {
    db = await createTestDatabase("postgresql");
    // A slow server: while one replica is busy sending, the other finds work.
    smtp = await startSmtpServer({ delayMs: 150 });
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await serverWithAccount({
          db,
          keepDb: true,
          env: { ...MAIL_ENV, SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: "50", MAIL_ACCOUNT_LIMIT: "100" },
        }),
      );
    }
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await smtp?.close();
    await db?.drop();
  });

  it("when 20 messages are queued, then each is sent exactly once, and both replicas send some", async () => {
    const [a, b] = replicas;
    if (!a || !b) throw new Error("replicas did not start");
    const users = await Promise.all(Array.from({ length: 20 }, () => registered(a.server)));
    // Queued through both replicas, each waking its own dispatcher; the other one polls.
    await Promise.all(users.map((u, i) => (i % 2 ? a : b).account.requestPasswordReset({ email: u.email }, client())));
    await waitFor("20 messages", () => smtp.received.length >= 20, 30_000);
    // Nothing more arrives: a duplicate would come within a few poll intervals.
    await waitFor("every message marked sent", async () => {
      const [r] = await queryDatabase<{ n: unknown }>(
        db,
        "select count(*) as n from mail_outbox where status = 'sent'",
      );
      return Number(r?.n) === 20;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.received).toHaveLength(20);
    for (const u of users) expect(mailsTo(smtp, u.email), u.email).toHaveLength(1);
    const ids = new Set(smtp.received.map((m) => m.mime.headers.get("message-id")));
    expect(ids.size).toBe(20);
    const sentBy = replicas.map((r) => r.server.logs.filter((l) => l.message === "mail sent").length);
    expect(sentBy.reduce((x, y) => x + y, 0)).toBe(20);
    expect(Math.min(...sentBy), `sent per replica: ${sentBy.join(", ")}`).toBeGreaterThan(0);
  });
});

describe("production without SMTP_URL", () => {
  it("when the service starts, then it warns that reset and verification mail cannot be sent, and queues without sending", async () => {
    const key = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const db = await createTestDatabase("sqlite");
    const sut = await serverWithAccount({
      db,
      env: { NODE_ENV: "production", DATABASE_URL: db.url, JWT_PRIVATE_KEY: key, MAIL_ADDRESS_LIMIT: "1000" },
    });
    try {
      const warning = sut.server.logs.find((l) => l.level === "warn" && String(l.message).includes("SMTP_URL"));
      expect(warning?.message).toMatch(/password-reset and e-mail verification messages cannot be sent/);
      expect(sut.server.logs.some((l) => l.message === "mail dispatcher started")).toBe(false);
      const user = await registered(sut.server);
      await sut.account.requestPasswordReset({ email: user.email }, client());
      expect((await outboxRow(sut.server, user.id))?.status).toBe("queued");
    } finally {
      await sut.close();
    }
  });
});
