/**
 * A browser client of warden over the Connect protocol (JSON), with
 * @connectrpc/connect-web. It is meant to be served from another origin than
 * the service, so every call goes through CORS.
 *
 * The service URL comes from `?api=`, defaulting to http://localhost:8080.
 * Tokens stay in memory only: nothing a script injected later could read
 * from storage survives a reload.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService, type TokenPair, type User } from "../../gen/auth/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

const api = new URLSearchParams(location.search).get("api") ?? "http://localhost:8080";
const client = createClient(AuthService, createConnectTransport({ baseUrl: api }));

let tokens: TokenPair | undefined;

const el = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`missing #${id}`);
  return found as T;
};
const value = (id: string): string => el<HTMLInputElement>(id).value;

function show(status: string, user?: User): void {
  el("status").textContent = status;
  el("error").textContent = "";
  if (user !== undefined) {
    el("user").textContent = JSON.stringify(
      { id: user.id, email: user.email, username: user.username, is_active: user.isActive },
      null,
      2,
    );
  }
}

/** Shows the contract's error code (ErrorInfo reason), message and request id. */
function showError(e: unknown): void {
  const err = ConnectError.from(e);
  const reason = err.findDetails(ErrorInfoSchema)[0]?.reason ?? Code[err.code];
  const requestId = err.metadata.get("x-request-id");
  el("status").textContent = "";
  el("error").textContent = `${reason}: ${err.rawMessage}${requestId ? ` (request ${requestId})` : ""}`;
}

/** Runs one action and reports its failure on the page instead of the console. */
const action = (fn: () => Promise<void>) => (ev: Event) => {
  ev.preventDefault();
  fn().catch(showError);
};

el("api").textContent = api;

el("register-form").addEventListener(
  "submit",
  action(async () => {
    const res = await client.register({
      email: value("reg-email"),
      username: value("reg-username"),
      password: value("reg-password"),
    });
    tokens = res.tokens;
    show(`registered ${res.user?.username ?? ""}`, res.user);
  }),
);

el("login-form").addEventListener(
  "submit",
  action(async () => {
    const res = await client.login({ emailOrUsername: value("login-id"), password: value("login-password") });
    tokens = res.tokens;
    show(`logged in as ${res.user?.username ?? ""}`, res.user);
  }),
);

el("me").addEventListener(
  "click",
  action(async () => {
    const res = await client.getCurrentUser({}, { headers: { authorization: `Bearer ${tokens?.accessToken ?? ""}` } });
    show(`current user ${res.user?.username ?? ""}`, res.user);
  }),
);

el("refresh").addEventListener(
  "click",
  action(async () => {
    const res = await client.refresh({ refreshToken: tokens?.refreshToken ?? "" });
    tokens = res.tokens;
    show(`refreshed; access token valid for ${res.tokens?.expiresIn ?? 0} s`, res.user);
  }),
);

el("logout").addEventListener(
  "click",
  action(async () => {
    await client.logout({ refreshToken: tokens?.refreshToken ?? "" });
    tokens = undefined;
    show("logged out");
    el("user").textContent = "(signed out)";
  }),
);
