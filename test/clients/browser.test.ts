import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWebExample } from "../../examples/web/build.js";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import { AdminService } from "../../gen/auth/v1/admin_pb.js";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { TokenService } from "../../gen/auth/v1/token_pb.js";
import { httpRulesOf } from "../../src/transport/rest/http-rules.js";
import { freePort, mailFiles, partOfType } from "../helpers/mail.js";
import { startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";
import { totpCode } from "../helpers/totp.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI !== "true") {
  console.warn(`\n*** ${CHROMIUM} is missing: the browser tests are SKIPPED (apt-get install -y chromium) ***\n`);
}

const WEB_DIR = join(import.meta.dirname, "..", "..", "examples", "web");
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };

/** Serves examples/web as static files, as any web host would. */
async function startStaticServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/+/, "") || "index.html";
    readFile(join(WEB_DIR, path)).then(
      (body) => {
        res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
        res.end(body);
      },
      () => {
        res.writeHead(404).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

// Under CI the test must run: a missing browser is a failure there, not a skip.
describe.skipIf(!haveChromium && process.env.CI !== "true")(
  "browser client (examples/web) in headless Chromium",
  () => {
    let api: TestServer;
    let web: { server: Server; port: number };
    let context: BrowserContext;
    let userDataDir: string;
    let allowedOrigin: string;
    // The service's clock: the MFA test moves it to the next TOTP step instead of waiting 30 s.
    const clock = testClock();

    beforeAll(async () => {
      await buildWebExample();
      web = await startStaticServer();
      // Same static server, two origins: only the localhost one is allowed.
      allowedOrigin = `http://localhost:${web.port}`;
      // The links in the mail open the example's own pages, told where the service is.
      const port = await freePort();
      const pages = `${allowedOrigin}/%s.html?api=${encodeURIComponent(`http://127.0.0.1:${port}`)}&token={token}`;
      api = await startServer({
        env: {
          PORT: String(port),
          CORS_ORIGINS: allowedOrigin,
          PASSWORD_RESET_URL: pages.replace("%s", "reset-password"),
          EMAIL_VERIFICATION_URL: pages.replace("%s", "verify-email"),
        },
        clock,
      });
      userDataDir = await mkdtemp(join(tmpdir(), "warden-chromium-"));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
    });

    afterAll(async () => {
      await context?.close();
      await api?.close();
      await new Promise((resolve) => web?.server.close(resolve));
      if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    });

    const open = async (origin: string): Promise<Page> => {
      const page = await context.newPage();
      await page.goto(`${origin}/index.html?api=${encodeURIComponent(api.baseUrl)}`);
      await expect.poll(() => page.textContent("#api"), { timeout: 15_000 }).toBe(api.baseUrl);
      return page;
    };

    const login = async (page: Page, id: string, password: string) => {
      await page.fill("#login-id", id);
      await page.fill("#login-password", password);
      await page.click("#login");
    };

    it("when a user registers, logs in, reads the current user, refreshes and logs out in the page, then each step shows", async () => {
      const page = await open(allowedOrigin);
      const u = uniqueUser("web");
      await page.fill("#reg-email", u.email);
      await page.fill("#reg-username", u.username);
      await page.fill("#reg-password", u.password);
      await page.click("#register");
      // Generous: the first registration of the run may meet a cold service on a busy machine.
      await expect.poll(() => page.textContent("#status"), { timeout: 15_000 }).toBe(`registered ${u.username}`);

      await login(page, u.email, u.password);
      await expect.poll(() => page.textContent("#status")).toBe(`logged in as ${u.username}`);

      await page.click("#me");
      await expect.poll(() => page.textContent("#status")).toBe(`current user ${u.username}`);
      expect(await page.textContent("#user")).toContain(u.email);

      await page.click("#refresh");
      await expect.poll(() => page.textContent("#status")).toMatch(/^refreshed; access token valid for \d+ s$/);

      await page.click("#logout");
      await expect.poll(() => page.textContent("#status")).toBe("logged out");
      expect(await page.textContent("#user")).toBe("(signed out)");
      expect(await page.textContent("#error")).toBe("");
      await page.close();
    });

    it("when the password is wrong, then the page shows INVALID_CREDENTIALS and the request id it could read through CORS", async () => {
      const page = await open(allowedOrigin);
      const u = uniqueUser("webwrong");
      await page.fill("#reg-email", u.email);
      await page.fill("#reg-username", u.username);
      await page.fill("#reg-password", u.password);
      await page.click("#register");
      await expect.poll(() => page.textContent("#status")).toBe(`registered ${u.username}`);

      await login(page, u.username, "definitely-the-wrong-password");
      await expect
        .poll(() => page.textContent("#error"))
        .toMatch(/^INVALID_CREDENTIALS: .+ \(request [A-Za-z0-9._-]+\)$/);
      expect(await page.textContent("#status")).toBe("");
      await page.close();
    });

    /** The link of the newest message to `email` with this subject, once the service has written it. */
    const linkIn = async (email: string, subject: string): Promise<string> => {
      const find = async () =>
        (await mailFiles(join(api.dataDir, "mail")))
          .filter((m) => m.mime.headers.get("to") === email && m.mime.headers.get("subject") === subject)
          .map((m) => /https?:\/\/\S+token=[A-Za-z0-9_-]+/.exec(partOfType(m.mime, "text/plain")?.body ?? "")?.[0])
          .at(-1);
      await expect.poll(find, { timeout: 15_000 }).toBeDefined();
      return (await find()) ?? "";
    };

    it("when a user logs in, changes the password, lists the sessions and revokes one, then each step shows", async () => {
      const page = await open(allowedOrigin);
      const u = uniqueUser("webacct");
      await page.fill("#reg-email", u.email);
      await page.fill("#reg-username", u.username);
      await page.fill("#reg-password", u.password);
      await page.click("#register");
      await expect.poll(() => page.textContent("#status")).toBe(`registered ${u.username}`);
      await login(page, u.email, u.password);
      await expect.poll(() => page.textContent("#status")).toBe(`logged in as ${u.username}`);

      const changed = `${u.password}-changed`;
      await page.fill("#current-password", u.password);
      await page.fill("#new-password", changed);
      await page.click("#change-password");
      await expect.poll(() => page.textContent("#status")).toBe("password changed; every other session is signed out");

      // Two more sessions; the page holds the newest one's tokens.
      for (let i = 0; i < 2; i++) {
        await page.fill("#login-id", "");
        await login(page, u.username, changed);
        await expect.poll(() => page.textContent("#status")).toBe(`logged in as ${u.username}`);
      }
      await page.click("#list-sessions");
      await expect.poll(() => page.textContent("#status")).toBe("3 open sessions");
      const rows = page.locator("#sessions tr");
      expect(await rows.count()).toBe(3);
      expect(await rows.nth(0).locator("td").nth(0).textContent()).toBe("this session");
      expect(await rows.nth(0).locator("td").nth(4).textContent()).toMatch(/Chrome/);
      const revoked = await rows.nth(1).getAttribute("data-session-id");
      await rows.nth(1).locator("button.revoke").click();
      await expect.poll(() => page.textContent("#status")).toBe("session revoked; 2 open sessions");
      const left = await page
        .locator("#sessions tr")
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-session-id")));
      expect(left).toHaveLength(2);
      expect(left).not.toContain(revoked);
      expect(await page.textContent("#error")).toBe("");

      // The e-mail's verification link opens verify-email.html, which confirms the address.
      await page.click("#send-verification");
      await expect.poll(() => page.textContent("#status")).toMatch(/^verification e-mail sent/);
      const verify = await context.newPage();
      await verify.goto(await linkIn(u.email, "Confirm your e-mail address"));
      await expect.poll(() => verify.textContent("#status")).toBe("e-mail address verified");
      // The token does not stay in the address bar (nor the history).
      expect(verify.url()).not.toContain("token=");
      await verify.close();
      await page.click("#me");
      await expect.poll(() => page.textContent("#user")).toContain('"email_verified": true');

      // Forgot the password: the reset link opens reset-password.html.
      await page.fill("#reset-email", u.email);
      await page.click("#request-reset");
      await expect
        .poll(() => page.textContent("#status"))
        .toBe("if an account has this address, a reset link is on its way");
      const reset = await context.newPage();
      await reset.goto(await linkIn(u.email, "Reset your password"));
      await reset.fill("#new-password", `${u.password}-reset`);
      await reset.click("#reset");
      await expect.poll(() => reset.textContent("#status")).toBe("password changed; log in with the new one");
      await reset.close();
      await login(page, u.email, `${u.password}-reset`);
      await expect.poll(() => page.textContent("#status")).toBe(`logged in as ${u.username}`);
      await page.close();
    });

    it("when a user turns TOTP on in the page, then it shows the QR code and recovery codes, and the next login asks for a code and completes with one", async () => {
      // Generous: every step is a round trip to a service that may share a busy machine.
      const eventually = { timeout: 15_000 };
      const page = await open(allowedOrigin);
      const u = uniqueUser("webmfa");
      expect(await page.isVisible("#mfa-form")).toBe(false);
      expect(await page.isVisible("#totp-enrolment")).toBe(false);
      await page.fill("#reg-email", u.email);
      await page.fill("#reg-username", u.username);
      await page.fill("#reg-password", u.password);
      await page.click("#register");
      await expect.poll(() => page.textContent("#status"), eventually).toBe(`registered ${u.username}`);

      // Enrolment: the otpauth:// URI, its secret, and the URI drawn as a QR code in the page.
      await page.fill("#totp-password", u.password);
      await page.click("#totp-setup");
      await expect
        .poll(() => page.textContent("#status"))
        .toBe("scan the QR code, then confirm with a code from the app");
      const uri = new URL((await page.textContent("#totp-uri")) ?? "");
      expect(uri.protocol).toBe("otpauth:");
      expect(decodeURIComponent(uri.pathname)).toBe(`/warden:${u.email}`);
      const secret = (await page.textContent("#totp-secret")) ?? "";
      expect(uri.searchParams.get("secret")).toBe(secret);
      expect(await page.getAttribute("#totp-qr", "src")).toMatch(/^data:image\/png;base64,/);
      // The browser decoded it into an image of the requested size.
      await page.waitForFunction("document.getElementById('totp-qr').naturalWidth === 200", undefined, eventually);

      await page.fill("#totp-code", totpCode(secret, clock.now()));
      await page.click("#totp-confirm");
      await expect.poll(() => page.textContent("#status"), eventually).toBe("two-factor authentication is on");
      const recoveryCodes = await page.locator("#recovery-codes li").allTextContents();
      expect(recoveryCodes).toHaveLength(10);
      for (const c of recoveryCodes) expect(c).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
      // The secret is gone from the page once confirmed.
      expect(await page.textContent("#totp-secret")).toBe("");
      expect(await page.isVisible("#totp-enrolment")).toBe(false);

      await page.click("#logout");
      await expect.poll(() => page.textContent("#status"), eventually).toBe("logged out");
      // The next time step: the confirming code is spent.
      clock.advance(30_000);

      // Login now stops at the challenge; a code computed from the secret completes it.
      await login(page, u.username, u.password);
      await expect.poll(() => page.textContent("#status"), eventually).toBe("second factor required");
      expect(await page.isVisible("#mfa-form")).toBe(true);
      expect(await page.textContent("#mfa-methods")).toContain("totp or recovery code");
      await page.fill("#mfa-code", totpCode(secret, clock.now()));
      await page.click("#mfa-verify");
      await expect
        .poll(() => page.textContent("#status"), eventually)
        .toBe(`logged in as ${u.username} with a second factor`);
      expect(await page.isVisible("#mfa-form")).toBe(false);
      await page.click("#me");
      await expect.poll(() => page.textContent("#status"), eventually).toBe(`current user ${u.username}`);

      // A recovery code works once in the same step.
      await page.click("#logout");
      await expect.poll(() => page.textContent("#status"), eventually).toBe("logged out");
      await login(page, u.email, u.password);
      await expect.poll(() => page.textContent("#status"), eventually).toBe("second factor required");
      await page.fill("#mfa-code", recoveryCodes[0] ?? "");
      await page.click("#mfa-verify");
      await expect
        .poll(() => page.textContent("#status"), eventually)
        .toBe(`logged in as ${u.username} with a second factor`);
      expect(await page.textContent("#error")).toBe("");

      // A wrong code shows the contract's error in the page.
      await page.click("#logout");
      await expect.poll(() => page.textContent("#status"), eventually).toBe("logged out");
      await login(page, u.email, u.password);
      await expect.poll(() => page.textContent("#status"), eventually).toBe("second factor required");
      await page.fill("#mfa-code", recoveryCodes[0] ?? "");
      await page.click("#mfa-verify");
      await expect.poll(() => page.textContent("#error"), eventually).toMatch(/^INVALID_CREDENTIALS: /);
      await page.close();
    });

    it("when /docs is opened, then Swagger UI renders every REST route and asks no other host for anything", async () => {
      const page = await context.newPage();
      const foreign: string[] = [];
      page.on("request", (r) => {
        if (new URL(r.url()).origin !== api.baseUrl) foreign.push(r.url());
      });
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      await page.goto(`${api.baseUrl}/docs`);
      const routes = httpRulesOf(AuthService, AccountService, AdminService, TokenService);
      await expect.poll(() => page.locator(".opblock").count(), { timeout: 15_000 }).toBe(routes.length);
      const paths = await page.locator(".opblock-summary-path").allTextContents();
      expect([...new Set(paths.map((p) => p.replace(/\u200b/g, "")))].sort()).toEqual(
        [...new Set(routes.map((r) => r.path))].sort(),
      );
      expect(foreign).toEqual([]);
      expect(consoleErrors).toEqual([]);
      await page.close();
    });

    it("when the page comes from an origin not in CORS_ORIGINS, then the browser blocks the call and nothing is created", async () => {
      const page = await open(`http://127.0.0.1:${web.port}`);
      const u = uniqueUser("webcors");
      await page.fill("#reg-email", u.email);
      await page.fill("#reg-username", u.username);
      await page.fill("#reg-password", u.password);
      await page.click("#register");
      await expect.poll(() => page.textContent("#error")).not.toBe("");
      expect(await page.textContent("#error")).not.toMatch(/^[A-Z_]+_(ERROR|EXISTS|CREDENTIALS):/);
      expect(await page.textContent("#status")).toBe("");
      await page.close();
      // The preflight failed, so the Register call itself never reached the service.
      const res = await fetch(`${api.baseUrl}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email_or_username: u.email, password: u.password }),
      });
      expect(res.status).toBe(401);
    });
  },
);
