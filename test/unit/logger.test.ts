import { PassThrough } from "node:stream";
import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { describe, expect, it } from "vitest";
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

  it("when a caller logs secret-named fields, then the logger redacts them", () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on("data", (c: Buffer) => lines.push(c.toString()));
    createLogger("info", out).info("x", {
      password: "hunter2hunter2",
      nested: { refresh_token: "abc" },
      authorization: "Bearer t",
    });
    const text = lines.join("");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain('"abc"');
    expect(text).not.toContain("Bearer t");
    expect(text).toContain("[redacted]");
  });
});
