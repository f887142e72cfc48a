import { PassThrough } from "node:stream";
import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { describe, expect, it, vi } from "vitest";
import { createLogger, describeError } from "../../src/logger.js";

describe("logging errors", () => {
  it("when a database driver error quotes SQL, then only its name is logged", () => {
    const sql = "insert into users (email, password_hash) values ('a@b.co', '$2b$12$abcdefghijklmnopqrstuv')";
    const e = new UniqueConstraintViolationException(new Error(`${sql} - duplicate key`));
    const d = describeError(e);
    expect(d.error_name).toBe("UniqueConstraintViolationException");
    expect(JSON.stringify(d)).not.toContain("insert into");
    expect(JSON.stringify(d)).not.toContain("$2b$");
  });

  it("when another error is described, then its name, code and first message line are kept, never the stack", () => {
    const e = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432\nsecond line"), { code: "ECONNREFUSED" });
    expect(describeError(e)).toEqual({
      error_name: "Error",
      error_code: "ECONNREFUSED",
      error_message: "connect ECONNREFUSED 127.0.0.1:5432",
    });
    expect(describeError("boom")).toEqual({ error_name: "string" });
  });

  it("when a caller logs secret-named fields, then the logger redacts them", async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on("data", (c: Buffer) => lines.push(c.toString()));
    createLogger("info", out).info("x", {
      password: "hunter2hunter2",
      nested: { refresh_token: "abc" },
      authorization: "Bearer t",
    });
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
    const text = lines.join("");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain('"abc"');
    expect(text).not.toContain("Bearer t");
    expect(text).toContain("[redacted]");
  });

  it("when lines are logged, then each goes out at once as one JSON line, timestamp, level and message first", () => {
    const out = new PassThrough();
    const writes: string[] = [];
    out.on("data", (c: Buffer) => writes.push(c.toString()));
    const logger = createLogger("info", out);
    logger.info("one", { n: 1 });
    logger.error("boom");
    const lines = writes.map((w) => JSON.parse(w) as Record<string, unknown>);
    expect(lines.map((l) => l.message)).toEqual(["one", "boom"]);
    expect(Object.keys(lines[0] ?? {}).slice(0, 3)).toEqual(["timestamp", "level", "message"]);
  });

  it("when a field cannot be written as JSON, then the line is still written", async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on("data", (c: Buffer) => lines.push(c.toString()));
    // A cycle below the depth redaction looks at: plain JSON.stringify would throw.
    const leaf: Record<string, unknown> = {};
    const deep = { a: { b: { c: { d: { e: leaf } } } } };
    leaf.loop = deep;
    createLogger("info", out).info("odd", { big: 10n, deep });
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
    const line = JSON.parse(lines.join("")) as Record<string, unknown>;
    expect(line.message).toBe("odd");
    expect(line.big).toBe("10");
  });
});
