import { describe, expect, it } from "vitest";
import { createBcryptHasher } from "../../src/passwords/bcrypt-hasher.js";
import { createHashLimiter } from "../../src/passwords/hash-limiter.js";

const hasher = createBcryptHasher(4, createHashLimiter(4, 5000));

describe("bcrypt hasher", () => {
  it("when two passwords share their first 72 bytes, then neither verifies against the other's hash", async () => {
    const a = `${"x".repeat(72)}A`;
    const b = `${"x".repeat(72)}B`;
    const hash = await hasher.hash(a);
    expect(await hasher.verify(a, hash)).toBe(true);
    expect(await hasher.verify(b, hash)).toBe(false);
  });

  it("when a password contains a NUL byte, then what follows it still counts", async () => {
    const hash = await hasher.hash("abc\u0000def-long-enough");
    expect(await hasher.verify("abc\u0000xyz-long-enough", hash)).toBe(false);
  });

  it("when the configured cost differs from the hash's, then a rehash is due", async () => {
    const hash = await hasher.hash("some password here");
    expect(hash).toMatch(/^\$2b\$04\$/);
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(createBcryptHasher(5, createHashLimiter(1, 1000)).needsRehash(hash)).toBe(true);
  });
});

describe("hash limiter", () => {
  it("when more tasks arrive than BCRYPT_CONCURRENCY, then at most that many run and the rest wait their turn in order", async () => {
    const limiter = createHashLimiter(2, 5_000);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (n: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      order.push(n);
      return n;
    };
    const all = Promise.all([1, 2, 3, 4, 5, 6].map((n) => limiter.run(task(n))));
    expect(limiter.active).toBe(2);
    expect(limiter.queued).toBe(4);
    expect(await all).toEqual([1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
    expect(order.slice(2)).toEqual([3, 4, 5, 6]);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it("when a task waits longer than BCRYPT_QUEUE_TIMEOUT_MS, then it fails with SERVICE_UNAVAILABLE and never runs", async () => {
    const limiter = createHashLimiter(1, 100);
    let ran = false;
    const blocker = limiter.run(() => new Promise((r) => setTimeout(r, 400)));
    const late = limiter.run(async () => {
      ran = true;
    });
    await expect(late).rejects.toMatchObject({ reason: "SERVICE_UNAVAILABLE" });
    await blocker;
    expect(ran).toBe(false);
    expect(limiter.queued).toBe(0);
  });
});
