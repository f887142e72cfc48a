import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountCaller } from "../helpers/account.js";
import { authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, queryDatabase, type TestDatabase } from "../helpers/databases.js";
import {
  freePort,
  partOfType,
  type ReceivedMail,
  startSmtpServer,
  type TestSmtpServer,
  tokenIn,
} from "../helpers/mail.js";
import { metricValue } from "../helpers/metrics.js";
import {
  type ServerProcess,
  spawnServer,
  startServer,
  TEST_ENV,
  type TestServer,
  uniqueUser,
} from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const MAIL_ENV = {
  MAIL_FROM: "Warden Test <auth@example.test>",
  PASSWORD_RESET_URL: "https://app.example.test/reset?token={token}",
  EMAIL_VERIFICATION_URL: "https://app.example.test/verify?token={token}",
  MAIL_POLL_INTERVAL_MS: "100",
  MAIL_RETRY_BASE_MS: "200",
  MAIL_ADDRESS_LIMIT: "1000",
};

async function registered(server: { baseUrl: string }) {
  const u = uniqueUser("mail");
  const res = await authClient(connectTransport(server.baseUrl)).register(u);
  return { ...u, id: res.user?.id ?? "", accessToken: res.tokens?.accessToken ?? "" };
}

const mailsTo = (smtp: TestSmtpServer, email: string): ReceivedMail[] =>
  smtp.received.filter((m) => m.to.includes(email));

const textOf = (mail: ReceivedMail | undefined) => (mail ? (partOfType(mail.mime, "text/plain")?.body ?? "") : "");

const outboxRow = async (db: TestDatabase, userId: string) =>
  (
    await queryDatabase<{ status: string; attempts: number; last_error: string | null; text_body: string }>(
      db,
      "select status, attempts, last_error, text_body from mail_outbox where user_id = ? order by created_at desc",
      [userId],
    )
  )[0];

const metricsText = async (server: { baseUrl: string }) => (await fetch(`${server.baseUrl}/metrics`)).text();

/** No line of `lines` (a server's log at debug) holds any of `secrets`. */
function expectNoSecretsIn(lines: readonly string[], secrets: readonly string[]) {
  expect(TEST_ENV.LOG_LEVEL).toBe("debug");
  expect(lines.length).toBeGreaterThan(0);
  for (const secret of secrets) expect(lines.filter((l) => l.includes(secret))).toEqual([]);
}

/**
 * Account mail end to end: requests over the network (Connect, gRPC, REST),
 * the service's own dispatcher, a real SMTP server (smtp-server) started by
 * the test, and the link's token used through the RPCs.
 */
describe("account mail over SMTP", () => {
  let smtp: TestSmtpServer;
  let server: TestServer;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startServer({ env: { ...MAIL_ENV, SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it("when a reset is requested, then a multipart/alternative message with the link in both parts arrives, and its token works once", async () => {
    const user = await registered(server);
    expect((await accountCaller("rest", server).call("RequestPasswordReset", { email: user.email })).reason).toBe("ok");
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

    const grpc = accountCaller("grpc", server);
    try {
      expect((await grpc.call("ResetPassword", { token, newPassword: `${user.password}-new` })).reason).toBe("ok");
      expect((await grpc.call("ResetPassword", { token, newPassword: `${user.password}-2` })).reason).toBe(
        "INVALID_TOKEN",
      );
    } finally {
      grpc.close();
    }
    await authClient(connectTransport(server.baseUrl)).login({
      emailOrUsername: user.email,
      password: `${user.password}-new`,
    });

    const metrics = await metricsText(server);
    expect(metricValue(metrics, 'warden_mail_queued_total{kind="password_reset"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'warden_mail_sent_total{kind="password_reset"}')).toBeGreaterThanOrEqual(1);
    const row = await outboxRow(server.db, user.id);
    // Sent: the row keeps no body, since the body held a live link.
    expect(row).toMatchObject({ status: "sent", text_body: "" });
    expectNoSecretsIn(server.rawLogs, [token]);
  });

  it("when verification is asked for, then a message greeting the user by name arrives and its link verifies the address", async () => {
    const user = await registered(server);
    const connect = accountCaller("connect", server);
    expect((await connect.call("SendVerificationEmail", {}, { token: user.accessToken })).reason).toBe("ok");
    await waitFor("the verification message", () => mailsTo(smtp, user.email).length === 1);
    const mail = mailsTo(smtp, user.email)[0];
    const token = tokenIn(textOf(mail)) ?? "";
    expect(textOf(mail)).toContain(`Hello ${user.username},`);
    expect(textOf(mail)).toContain(`https://app.example.test/verify?token=${token}`);
    expect((await connect.call("VerifyEmail", { token })).reason).toBe("ok");
    expect((await connect.call("VerifyEmail", { token })).reason).toBe("INVALID_TOKEN");
    expectNoSecretsIn(server.rawLogs, [token]);
  });
});

describe("account mail when the SMTP server is down", () => {
  it("when the server is down as the reset is requested and comes up later, then the message still arrives", async () => {
    const port = await freePort();
    const server = await startServer({ env: { ...MAIL_ENV, SMTP_URL: `smtp://127.0.0.1:${port}` } });
    let smtp: TestSmtpServer | undefined;
    try {
      const user = await registered(server);
      const answered = await accountCaller("connect", server).call("RequestPasswordReset", { email: user.email });
      // The answer never waits on the mail server.
      expect(answered.reason).toBe("ok");
      await waitFor("a failed attempt, back in the queue", async () => {
        const row = await outboxRow(server.db, user.id);
        return row?.status === "queued" && Number(row.attempts) >= 1 && row.last_error !== null;
      });
      expect(server.logs.some((l) => l.message === "mail send failed; will retry")).toBe(true);
      const backlog = async () => metricValue(await metricsText(server), "warden_mail_oldest_unsent_age_seconds") ?? -1;
      await waitFor("the backlog gauge to show the waiting message", async () => (await backlog()) > 0);

      smtp = await startSmtpServer({ port });
      const up = smtp;
      await waitFor("the message after the server came up", () => mailsTo(up, user.email).length === 1, 20_000);
      await waitFor("the message marked sent", async () => (await outboxRow(server.db, user.id))?.status === "sent");
      await waitFor("the backlog gauge back to 0", async () => (await backlog()) === 0);
      const token = tokenIn(textOf(mailsTo(up, user.email)[0])) ?? "no token";
      expect(
        (await accountCaller("connect", server).call("ResetPassword", { token, newPassword: "a-fine-new-pass" }))
          .reason,
      ).toBe("ok");
      expectNoSecretsIn(server.rawLogs, [token]);
    } finally {
      await server.close();
      await smtp?.close();
    }
  });

  it("when the server stays down, then after MAIL_MAX_ATTEMPTS the message is marked failed, counted and logged without secrets", async () => {
    const port = await freePort();
    const server = await startServer({
      env: { ...MAIL_ENV, SMTP_URL: `smtp://mailer:s3cret-smtp-pass@127.0.0.1:${port}`, MAIL_MAX_ATTEMPTS: "2" },
    });
    try {
      const user = await registered(server);
      await accountCaller("connect", server).call("RequestPasswordReset", { email: user.email });
      await waitFor("the message given up", async () => (await outboxRow(server.db, user.id))?.status === "failed");
      const row = await outboxRow(server.db, user.id);
      expect(Number(row?.attempts)).toBe(2);
      expect(row?.last_error).toMatch(/ECONNECTION|ECONNREFUSED/);
      expect(row?.last_error).not.toContain("s3cret");
      expect(row?.text_body).toBe("");
      const gaveUp = server.logs.filter((l) => l.message === "mail given up");
      expect(gaveUp).toHaveLength(1);
      expect(gaveUp[0]).toMatchObject({ kind: "password_reset", attempt: 2 });
      expect(metricValue(await metricsText(server), 'warden_mail_failed_total{kind="password_reset"}')).toBe(1);
      expectNoSecretsIn(server.rawLogs, ["s3cret-smtp-pass"]);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!(await postgresAvailable()))("two service processes on one PostgreSQL database", () => {
  let db: TestDatabase;
  let smtp: TestSmtpServer;
  const dataDirs: string[] = [];
  const replicas: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("postgresql");
    // A slow server: while one replica is busy sending, the other finds work.
    smtp = await startSmtpServer({ delayMs: 150 });
    // One after the other: the first applies the migrations.
    for (let i = 0; i < 2; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), "warden-replica-"));
      dataDirs.push(dataDir);
      replicas.push(
        await spawnServer({
          ...MAIL_ENV,
          DATABASE_URL: db.url,
          DATA_DIR: dataDir,
          SMTP_URL: smtp.url,
          MAIL_POLL_INTERVAL_MS: "50",
          MAIL_ACCOUNT_LIMIT: "100",
          // This test is about exactly-once delivery, not latency: on a loaded
          // machine a burst on a cold pool may take longer than the default 2 s.
          DB_TIMEOUT_MS: "5000",
        }),
      );
    }
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await smtp?.close();
    await db?.drop();
    for (const d of dataDirs) await rm(d, { recursive: true, force: true });
  });

  it("when 20 resets are requested through both, then each message is sent exactly once, and both processes send some", async () => {
    const [a, b] = replicas;
    if (!a || !b) throw new Error("replicas did not start");
    // Registered through both, which also opens each one's connections before the burst.
    const users = await Promise.all(Array.from({ length: 20 }, (_, i) => registered(i % 2 ? b : a)));
    // Queued through both processes, each waking its own dispatcher; the other one polls.
    const callers = [accountCaller("connect", a), accountCaller("connect", b)];
    const answers = await Promise.all(
      users.map((u, i) => callers[i % 2]?.call("RequestPasswordReset", { email: u.email })),
    );
    expect(answers.map((r) => r?.reason)).toEqual(Array(20).fill("ok"));
    await waitFor("20 messages", () => smtp.received.length >= 20, 30_000);
    await waitFor("every message marked sent", async () => {
      const [r] = await queryDatabase<{ n: unknown }>(
        db,
        "select count(*) as n from mail_outbox where status = 'sent'",
      );
      return Number(r?.n) === 20;
    });
    // Each row was claimed once (attempts counts claims), so no replica can
    // still be holding a copy to send: exactly once, with no waiting for
    // duplicates that might come.
    const attempts = await queryDatabase<{ attempts: number }>(db, "select attempts from mail_outbox");
    expect(attempts.map((r) => Number(r.attempts))).toEqual(Array(20).fill(1));
    expect(smtp.received).toHaveLength(20);
    for (const u of users) expect(mailsTo(smtp, u.email), u.email).toHaveLength(1);
    expect(new Set(smtp.received.map((m) => m.mime.headers.get("message-id"))).size).toBe(20);
    const sentBy = replicas.map((r) => r.stdout.filter((l) => l.includes('"message":"mail sent"')).length);
    expect(sentBy.reduce((x, y) => x + y, 0)).toBe(20);
    expect(Math.min(...sentBy), `sent per process: ${sentBy.join(", ")}`).toBeGreaterThan(0);
    const tokens = smtp.received.map((m) => tokenIn(textOf(m)) ?? "");
    for (const r of replicas) expectNoSecretsIn(r.stdout, tokens);
  });
});

describe("production without SMTP_URL", () => {
  it("when the service starts, then it warns that reset and verification mail cannot be sent, and queues without sending", async () => {
    const key = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const db = await createTestDatabase("sqlite");
    const server = await startServer({
      db,
      env: {
        NODE_ENV: "production",
        DATABASE_URL: db.url,
        JWT_PRIVATE_KEY: key,
        // Production refuses to start without the second factor's key.
        MFA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
        MAIL_ADDRESS_LIMIT: "1000",
      },
    });
    try {
      const warning = server.logs.find((l) => l.level === "warn" && String(l.message).includes("SMTP_URL"));
      expect(warning?.message).toMatch(/password-reset and e-mail verification messages cannot be sent/);
      expect(server.logs.some((l) => l.message === "mail dispatcher started")).toBe(false);
      const user = await registered(server);
      expect((await accountCaller("connect", server).call("RequestPasswordReset", { email: user.email })).reason).toBe(
        "ok",
      );
      expect((await outboxRow(db, user.id))?.status).toBe("queued");
    } finally {
      await server.close();
    }
  });
});
