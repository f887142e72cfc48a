/**
 * The two pages a link in an e-mail opens (PASSWORD_RESET_URL,
 * EMAIL_VERIFICATION_URL): reset-password.html?token=… asks for a new
 * password; verify-email.html?token=… confirms the address as soon as it
 * opens. The token is the credential: it is sent once, to the service, and
 * then taken out of the address bar so it does not linger in the history.
 */
import { account, action, api, el, params, showError, showStatus, value } from "./common.js";

const token = params.get("token") ?? "";
const keepApi = params.has("api") ? `?api=${encodeURIComponent(api)}` : "";
history.replaceState(null, "", location.pathname + keepApi);
el<HTMLAnchorElement>("back").href = `./index.html${keepApi}`;

const page = document.body.dataset.page;
if (page === "reset-password") {
  el("reset-form").addEventListener(
    "submit",
    action(async () => {
      await account.resetPassword({ token, newPassword: value("new-password") });
      showStatus("password changed; log in with the new one");
    }),
  );
} else if (page === "verify-email") {
  account.verifyEmail({ token }).then(() => showStatus("e-mail address verified"), showError);
}
