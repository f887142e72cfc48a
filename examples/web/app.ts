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
import QRCode from "qrcode";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import { AuthService, type MfaChallenge, type TokenPair, type User } from "../../gen/auth/v1/auth_pb.js";
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
    // A second factor: no tokens yet, only the challenge to answer.
    if (res.mfa !== undefined) return askSecondFactor(res.mfa);
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

/*
 * The second factor: the challenge step of a login, and TOTP enrolment with
 * its recovery codes (AccountService). The otpauth:// URI is drawn as a QR
 * code in the page (the `qrcode` package, bundled), so the secret never
 * leaves the browser for a third-party QR service.
 */

const mfaAccount = createClient(AccountService, createConnectTransport({ baseUrl: api }));
let challenge: MfaChallenge | undefined;

const withAccessToken = () => ({ headers: { authorization: `Bearer ${tokens?.accessToken ?? ""}` } });

function askSecondFactor(mfa: MfaChallenge): void {
  challenge = mfa;
  el("mfa-methods").textContent =
    `Enter a ${mfa.methods.join(" or ").replaceAll("_", " ")} (valid ${mfa.expiresIn} s).`;
  el("mfa-form").hidden = false;
  show("second factor required");
  el<HTMLInputElement>("mfa-code").focus();
}

function showRecoveryCodes(codes: readonly string[]): void {
  el("recovery-codes").replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  el("recovery").hidden = false;
}

/** Forgets the enrolment's secret once it is no longer needed on screen. */
function closeEnrolment(): void {
  el("totp-enrolment").hidden = true;
  el("totp-secret").textContent = "";
  el("totp-uri").textContent = "";
  el<HTMLImageElement>("totp-qr").removeAttribute("src");
  el<HTMLInputElement>("totp-code").value = "";
}

el("mfa-form").addEventListener(
  "submit",
  action(async () => {
    const res = await client.verifyMfa({ challengeToken: challenge?.challengeToken ?? "", code: value("mfa-code") });
    challenge = undefined;
    el("mfa-form").hidden = true;
    el<HTMLInputElement>("mfa-code").value = "";
    tokens = res.tokens;
    show(`logged in as ${res.user?.username ?? ""} with a second factor`, res.user);
  }),
);

el("totp-setup-form").addEventListener(
  "submit",
  action(async () => {
    const res = await mfaAccount.setupTotp({ password: value("totp-password") }, withAccessToken());
    el("totp-secret").textContent = res.secret;
    el("totp-uri").textContent = res.otpauthUri;
    el<HTMLImageElement>("totp-qr").src = await QRCode.toDataURL(res.otpauthUri, { margin: 2, width: 200 });
    el("totp-enrolment").hidden = false;
    el("recovery").hidden = true;
    show("scan the QR code, then confirm with a code from the app");
  }),
);

el("totp-confirm-form").addEventListener(
  "submit",
  action(async () => {
    const res = await mfaAccount.confirmTotp({ code: value("totp-code") }, withAccessToken());
    closeEnrolment();
    showRecoveryCodes(res.recoveryCodes);
    show("two-factor authentication is on");
  }),
);

el("totp-regenerate").addEventListener(
  "click",
  action(async () => {
    const res = await mfaAccount.regenerateRecoveryCodes({ password: value("totp-password") }, withAccessToken());
    showRecoveryCodes(res.recoveryCodes);
    show("new recovery codes; the old ones no longer work");
  }),
);

el("totp-disable").addEventListener(
  "click",
  action(async () => {
    await mfaAccount.disableTotp({ password: value("totp-password") }, withAccessToken());
    closeEnrolment();
    el("recovery").hidden = true;
    show("two-factor authentication is off");
  }),
);
