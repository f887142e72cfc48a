import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWebExample } from "../../examples/web/build.js";
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
      api = await startServer({ env: { CORS_ORIGINS: allowedOrigin }, clock });
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
      await expect.poll(() => page.textContent("#status")).toBe(`registered ${u.username}`);

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
      // Every operation of the served document: one block per path and verb.
      const doc = (await (await fetch(`${api.baseUrl}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item));
      await expect.poll(() => page.locator(".opblock").count(), { timeout: 15_000 }).toBe(operations.length);
      const paths = await page.locator(".opblock-summary-path").allTextContents();
      expect([...new Set(paths.map((p) => p.replace(/\u200b/g, "")))].sort()).toEqual(Object.keys(doc.paths).sort());
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
