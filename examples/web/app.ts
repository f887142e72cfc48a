/**
 * A browser client of warden over the Connect protocol (JSON), with
 * @connectrpc/connect-web. It is meant to be served from another origin than
 * the service, so every call goes through CORS.
 *
 * Tokens stay in memory only: nothing a script injected later could read
 * from storage survives a reload.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import QRCode from "qrcode";
import type { Session } from "../../gen/auth/v1/account_pb.js";
import type { MfaChallenge, TokenPair, User } from "../../gen/auth/v1/auth_pb.js";
import { account, action, api, auth, el, showStatus, value } from "./common.js";

let tokens: TokenPair | undefined;

/** The access token as AccountService and GetCurrentUser take it. */
const bearer = () => ({ headers: { authorization: `Bearer ${tokens?.accessToken ?? ""}` } });

function show(status: string, user?: User): void {
  showStatus(status);
  if (user !== undefined) {
    el("user").textContent = JSON.stringify(
      {
        id: user.id,
        email: user.email,
        username: user.username,
        is_active: user.isActive,
        email_verified: user.emailVerified,
        mfa_enabled: user.mfaEnabled,
      },
      null,
      2,
    );
  }
}

el("api").textContent = api;

el("register-form").addEventListener(
  "submit",
  action(async () => {
    const res = await auth.register({
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
    const res = await auth.login({ emailOrUsername: value("login-id"), password: value("login-password") });
    // A second factor: no tokens yet, only the challenge to answer.
    if (res.mfa !== undefined) return askSecondFactor(res.mfa);
    tokens = res.tokens;
    show(`logged in as ${res.user?.username ?? ""}`, res.user);
  }),
);

el("me").addEventListener(
  "click",
  action(async () => {
    const res = await auth.getCurrentUser({}, bearer());
    show(`current user ${res.user?.username ?? ""}`, res.user);
  }),
);

el("refresh").addEventListener(
  "click",
  action(async () => {
    const res = await auth.refresh({ refreshToken: tokens?.refreshToken ?? "" });
    tokens = res.tokens;
    show(`refreshed; access token valid for ${res.tokens?.expiresIn ?? 0} s`, res.user);
  }),
);

el("logout").addEventListener(
  "click",
  action(async () => {
    await auth.logout({ refreshToken: tokens?.refreshToken ?? "" });
    tokens = undefined;
    show("logged out");
    el("user").textContent = "(signed out)";
    el("sessions").replaceChildren();
  }),
);

el("password-form").addEventListener(
  "submit",
  action(async () => {
    await account.changePassword(
      { currentPassword: value("current-password"), newPassword: value("new-password") },
      bearer(),
    );
    show("password changed; every other session is signed out");
  }),
);

const when = (t: Session["createdAt"]) => (t ? timestampDate(t).toLocaleString() : "");

/** One row of the session table; every cell is text, never markup (the user agent is the client's). */
function sessionRow(s: Session): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.sessionId = s.id;
  for (const text of [
    s.current ? "this session" : "",
    when(s.createdAt),
    when(s.lastUsedAt),
    s.clientAddress,
    s.userAgent,
  ]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  const revoke = document.createElement("button");
  revoke.type = "button";
  revoke.className = "revoke";
  revoke.textContent = "Revoke";
  revoke.addEventListener(
    "click",
    action(async () => {
      await account.revokeSession({ sessionId: s.id }, bearer());
      const left = await listSessions();
      show(`session revoked; ${left} open session${left === 1 ? "" : "s"}`);
    }),
  );
  const last = document.createElement("td");
  last.append(revoke);
  row.append(last);
  return row;
}

/** Fills the session table, newest first; returns how many sessions are open. */
async function listSessions(): Promise<number> {
  const { sessions } = await account.listSessions({}, bearer());
  el("sessions").replaceChildren(...sessions.map(sessionRow));
  return sessions.length;
}

el("list-sessions").addEventListener(
  "click",
  action(async () => {
    const n = await listSessions();
    show(`${n} open session${n === 1 ? "" : "s"}`);
  }),
);

el("revoke-others").addEventListener(
  "click",
  action(async () => {
    const { revokedCount } = await account.revokeOtherSessions({}, bearer());
    await listSessions();
    show(`signed out ${revokedCount} other session${revokedCount === 1 ? "" : "s"}`);
  }),
);

el("send-verification").addEventListener(
  "click",
  action(async () => {
    await account.sendVerificationEmail({}, bearer());
    show("verification e-mail sent (unless the address is verified already)");
  }),
);

el("reset-request-form").addEventListener(
  "submit",
  action(async () => {
    await account.requestPasswordReset({ email: value("reset-email") });
    // The service answers the same for every address; so does the page.
    show("if an account has this address, a reset link is on its way");
  }),
);

/*
 * The second factor: the challenge step of a login, and TOTP enrolment with
 * its recovery codes (AccountService). The otpauth:// URI is drawn as a QR
 * code in the page (the `qrcode` package, bundled), so the secret never
 * leaves the browser for a third-party QR service.
 */

let challenge: MfaChallenge | undefined;

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
    const res = await auth.verifyMfa({ challengeToken: challenge?.challengeToken ?? "", code: value("mfa-code") });
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
    const res = await account.setupTotp({ password: value("totp-password") }, bearer());
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
    const res = await account.confirmTotp({ code: value("totp-code") }, bearer());
    closeEnrolment();
    showRecoveryCodes(res.recoveryCodes);
    show("two-factor authentication is on");
  }),
);

el("totp-regenerate").addEventListener(
  "click",
  action(async () => {
    const res = await account.regenerateRecoveryCodes({ password: value("totp-password") }, bearer());
    showRecoveryCodes(res.recoveryCodes);
    show("new recovery codes; the old ones no longer work");
  }),
);

el("totp-disable").addEventListener(
  "click",
  action(async () => {
    await account.disableTotp({ password: value("totp-password") }, bearer());
    closeEnrolment();
    el("recovery").hidden = true;
    show("two-factor authentication is off");
  }),
);
