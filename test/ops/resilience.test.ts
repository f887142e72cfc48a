import { ConnectionException } from "@mikro-orm/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDbGuard, guarded } from "../../src/db/resilience.js";
import { DomainError, userAlreadyExists } from "../../src/domain/errors.js";
import { authClient, connectTransport } from "../helpers/clients.js";
import { connectFailure } from "../helpers/errors.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** The database guard on its own: what counts towards the breaker, and what callers get. */
describe("database guard", () => {
  it("when the database answers with domain errors, however many, then the circuit stays closed and the error passes unchanged", async () => {
    const guard = createDbGuard({ timeoutMs: 1000, breakerThreshold: 2, halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      const e = await rejection(guard.run(() => Promise.reject(userAlreadyExists())));
      expect((e as DomainError).reason).toBe("USER_ALREADY_EXISTS");
    }
    expect(guard.state).toBe("closed");
  });

  it("when infrastructure failures reach the threshold, then the circuit opens and later calls fail fast with SERVICE_UNAVAILABLE without running", async () => {
    const guard = createDbGuard({ timeoutMs: 1000, breakerThreshold: 3, halfOpenAfterMs: 60_000 });
    const states: string[] = [];
    guard.onStateChange((s) => states.push(s));
    for (let i = 0; i < 3; i++) {
      const e = await rejection(guard.run(() => Promise.reject(refused())));
      expect((e as DomainError).reason).toBe("SERVICE_UNAVAILABLE");
    }
    expect(guard.state).toBe("open");
    let ran = false;
    const e = await rejection(guard.run(async () => (ran = true)));
    expect(ran).toBe(false);
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).reason).toBe("SERVICE_UNAVAILABLE");
    expect(states).toEqual(["open"]);
  });

  it("when a call outlives the timeout, then it fails with SERVICE_UNAVAILABLE at the deadline and counts as a failure", async () => {
    const guard = createDbGuard({ timeoutMs: 100, breakerThreshold: 1, halfOpenAfterMs: 60_000 });
    const started = performance.now();
    const e = await rejection(guard.run(() => new Promise(() => undefined)));
    expect((e as DomainError).reason).toBe("SERVICE_UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(1500);
    expect(guard.state).toBe("open");
  });

  it("when the half-open trial succeeds, then the circuit closes again", async () => {
    const guard = createDbGuard({ timeoutMs: 1000, breakerThreshold: 1, halfOpenAfterMs: 100 });
    await rejection(guard.run(() => Promise.reject(new ConnectionException(new Error("down")))));
    expect(guard.state).toBe("open");
    await new Promise((r) => setTimeout(r, 150));
    expect(await guard.run(async () => "up")).toBe("up");
    expect(guard.state).toBe("closed");
  });

  it("when a repository is guarded, then every method keeps its arguments and results and runs under the guard", async () => {
    const guard = createDbGuard({ timeoutMs: 1000, breakerThreshold: 1, halfOpenAfterMs: 60_000 });
    const repo = guarded(
      {
        async add(a: number, b: number) {
          return a + b;
        },
        async fail() {
          throw refused();
        },
      },
      guard,
    );
    expect(await repo.add(2, 3)).toBe(5);
    await rejection(repo.fail());
    expect(await rejection(repo.add(1, 1))).toBeInstanceOf(DomainError);
  });
});

describe("database guard in the running service", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ db: "sqlite", env: { BREAKER_THRESHOLD: "2" } });
  });
  afterAll(() => server?.close());

  it("when the same e-mail is registered again and again, then each gets ALREADY_EXISTS and the breaker never opens", async () => {
    const client = authClient(connectTransport(server.baseUrl));
    const u = uniqueUser("dup");
    await client.register(u);
    for (let i = 0; i < 5; i++) {
      const e = await connectFailure(client.register({ ...u, username: `${u.username}${i}` }));
      expect(e.reason).toBe("USER_ALREADY_EXISTS");
    }
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metricValue(text, "warden_db_circuit_state")).toBe(0);
    await waitFor("still serving", () => server.app.health.serving);
  });
});
