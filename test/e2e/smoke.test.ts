import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authClient, connectTransport, grpcJsCall, grpcJsClient } from "../helpers/clients.js";
import { describeEachDatabase } from "../helpers/databases.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

await describeEachDatabase(describe, "smoke", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ db: kind });
  });
  afterAll(() => server?.close());

  it("when a user registers over Connect, then grpc-js can log in", async () => {
    const u = uniqueUser();
    const client = authClient(connectTransport(server.baseUrl));
    const reg = await client.register(u);
    expect(reg.user?.email).toBe(u.email);
    const grpcClient = grpcJsClient(server.port);
    const res = await grpcJsCall<{ user: { id: string } }>(grpcClient, "Login", {
      email_or_username: u.username,
      password: u.password,
    });
    expect(res.error).toBeUndefined();
    expect(res.response?.user.id).toBe(reg.user?.id);
    grpcClient.close();
    await expect(client.login({ emailOrUsername: u.email, password: "nope-nope-nope" })).rejects.toBeInstanceOf(
      ConnectError,
    );
  });
});
