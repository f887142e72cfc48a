import { describe, expect, it } from "vitest";
import { createClosers } from "../../src/lifecycle.js";

describe("closers", () => {
  it("when everything is closed, then the last opened closes first, each even if another fails, and only once", async () => {
    const closed: string[] = [];
    const failures: string[] = [];
    const closers = createClosers((name) => failures.push(name));
    closers.add("database", () => closed.push("database"));
    closers.add("store", async () => {
      closed.push("store");
      throw new Error("store would not close");
    });
    closers.add("server", async () => closed.push("server"));

    await Promise.all([closers.closeAll(), closers.closeAll()]);
    await closers.closeAll();

    expect(closed).toEqual(["server", "store", "database"]);
    expect(failures).toEqual(["store"]);
    expect(() => closers.add("late", () => undefined)).toThrow(/after shutdown began/);
  });
});
