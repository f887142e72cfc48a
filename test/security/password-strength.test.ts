import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { FieldViolation } from "../../src/domain/errors.js";
import { createPasswordPolicy } from "../../src/passwords/password-policy.js";
import { type StrengthEstimator, startStrengthEstimator } from "../../src/passwords/strength-estimator.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { connectFailure } from "../helpers/errors.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

/** Item 5 of issue 10: passwords are judged by zxcvbn-ts, not by an exact-match list. */

describe("the password policy with the zxcvbn-ts estimator", () => {
  let estimator: StrengthEstimator;
  let loadMs = 0;
  beforeAll(async () => {
    estimator = startStrengthEstimator();
    await estimator.ready;
    // Nothing is loaded until the first estimate, which waits for the dictionaries.
    expect(estimator.running()).toBe(false);
    const started = performance.now();
    await estimator.estimate("warm-up only", []);
    loadMs = performance.now() - started;
    console.info(`zxcvbn-ts dictionaries loaded on their thread in ${loadMs.toFixed(0)} ms`);
  });
  afterAll(() => estimator?.close());

  const owner = { username: "Marguerite_7", email: "m.duras@example.com" };
  const verdict = async (password: string, minScore = 3) => {
    const out: FieldViolation[] = await createPasswordPolicy({ minLength: 12, minScore, estimator }).check(
      password,
      owner,
    );
    return out.map((v) => `${v.field}: ${v.description}`);
  };

  it("when the first estimate loads the dictionaries, then it is answered well within a call's budget", () => {
    // Generous: measured 300–700 ms on the shared 2-core machine, off the event loop.
    expect(loadMs).toBeLessThan(5_000);
  });

  it("when the password is a dictionary word plus a sequence (password123456), then it is refused with zxcvbn's advice", async () => {
    expect(await verdict("password123456")).toEqual([
      expect.stringMatching(/^password: is too easy to guess: This is similar to a commonly used password\./),
    ]);
  });

  it("when the password is common in any case or l33t spelling, then it is refused", async () => {
    for (const weak of ["qwerty123456", "1QAZ2WSX3EDC", "P@ssw0rd2024!", "aaaaaaaaaaab", "abcdefghijklmnop"]) {
      expect(await verdict(weak), weak).toEqual([expect.stringMatching(/^password: is too easy to guess: \S/)]);
    }
  });

  it("when the password is or contains the username or the e-mail's name, then that rule answers, as before", async () => {
    expect(await verdict("marguerite_7")).toEqual([expect.stringMatching(/^password: must not contain the username/)]);
    expect(await verdict("m.duras-forever-and-ever")).toHaveLength(1);
  });

  it("when the password is long and unusual, then it passes; PASSWORD_MIN_SCORE decides the bar", async () => {
    for (const strong of ["violet kettle on the moor", "correct horse battery staple 42", "zqxwcevrbtny"]) {
      expect(await verdict(strong), strong).toEqual([]);
    }
    // Score 1: refused at the default 3, accepted with PASSWORD_MIN_SCORE=1, no estimate at all with 0.
    expect(await verdict("password123456", 1)).toEqual([]);
    expect(await createPasswordPolicy({ minLength: 12, minScore: 0 }).check("password123456", owner)).toEqual([]);
  });

  it("when a password is 256 characters of the costliest kind, then only the first 100 are estimated and it stays fast", async () => {
    const costly = "4@1!3$0|7+8(2aA4@eE3sS$5oO0iI1!lL|tT7+".repeat(7).slice(0, 256);
    const started = performance.now();
    await estimator.estimate(costly, []);
    const ms = performance.now() - started;
    console.info(`zxcvbn-ts estimate of a 256-character l33t-heavy password: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(3_000); // generous: ~50–300 ms on the shared machine
    // The same first 100 characters give the same verdict, whatever follows.
    const a = await estimator.estimate(`${"x".repeat(100)}${"q7#Lm".repeat(30)}`, []);
    const b = await estimator.estimate("x".repeat(100), []);
    expect(a).toEqual(b);
  });

  it("when the estimate is taking place, then the event loop stays free (it runs on its own thread)", async () => {
    const costly = Array.from({ length: 20 }, (_, i) => estimator.estimate(`${i}4@1!3$0|7+8(2`.repeat(8), []));
    let worstTick = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      worstTick = Math.max(worstTick, now - last);
      last = now;
    }, 5);
    await Promise.all(costly);
    clearInterval(ticker);
    // The estimates together take seconds of CPU; ticks keep coming regardless.
    expect(worstTick).toBeLessThan(1_000);
  });
});

describe("the estimator's thread when nobody asks", () => {
  let estimator: StrengthEstimator | undefined;
  afterAll(() => estimator?.close());

  it("when no estimate was asked for the idle time, then the thread (and its dictionaries' memory) is gone, and the next estimate starts it again and is answered", async () => {
    estimator = startStrengthEstimator({ idleMs: 300 });
    await estimator.ready;
    expect(estimator.running()).toBe(false);
    await estimator.estimate("started by this estimate", []);
    expect(estimator.running()).toBe(true);
    await waitFor("the idle thread to end", () => estimator?.running() === false);
    const verdict = await estimator.estimate("password123456", []);
    expect(verdict.score).toBeLessThan(3);
    expect(estimator.running()).toBe(true);
    // Estimates keep it alive; once they stop it ends again.
    await waitFor("the thread to end again", () => estimator?.running() === false);
    expect((await estimator.estimate("correct horse battery staple 0xA7", [])).score).toBeGreaterThanOrEqual(3);
  });

  it("when the estimator is closed, then an estimate is refused as SERVICE_UNAVAILABLE, never hangs", async () => {
    const closing = startStrengthEstimator();
    await closing.estimate("a thread is running now", []);
    await closing.close();
    expect(closing.running()).toBe(false);
    await expect(closing.estimate("anything at all here", [])).rejects.toMatchObject({ reason: "SERVICE_UNAVAILABLE" });
  });
});

describe("Register judges passwords by strength", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer();
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when the password is password123456, then VALIDATION_ERROR names password and the description carries the advice", async () => {
    const f = await connectFailure(client.register({ ...uniqueUser(), password: "password123456" }));
    expect(f.reason).toBe("VALIDATION_ERROR");
    expect(f.fields).toEqual(["password"]);
    const description = f.error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.description;
    expect(description).toMatch(/^is too easy to guess: .*commonly used password.*\. Add more words/);
  });

  it("when the password is weak and the e-mail invalid too, then one answer names both fields", async () => {
    const f = await connectFailure(
      client.register({ ...uniqueUser(), email: "not-an-address", password: "qwerty123456" }),
    );
    expect(f.fields.sort()).toEqual(["email", "password"]);
  });

  it("when the password contains the username or the e-mail's name, then VALIDATION_ERROR names password", async () => {
    const u = uniqueUser();
    for (const password of [`${u.username}-2026!`, `x${u.email.split("@")[0]}yz-long`]) {
      const f = await connectFailure(client.register({ ...u, password }));
      expect(f.reason).toBe("VALIDATION_ERROR");
      expect(f.fields).toEqual(["password"]);
    }
    expect((await client.register(u)).user?.username).toBe(u.username);
  });

  it("when the password is strong, then the account is made and the password logs in", async () => {
    const u = { ...uniqueUser(), password: "violet kettle on the moor" };
    await client.register(u);
    expect((await client.login({ emailOrUsername: u.email, password: u.password })).user?.username).toBe(u.username);
  });
});
