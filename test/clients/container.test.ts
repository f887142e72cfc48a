import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

/** Dockerfile instructions, continuation lines joined, comments dropped. */
const instructions = read("Dockerfile")
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

// The steps themselves are run by scripts/check-container-steps.sh (from .ci/run);
// these checks keep the image's promises from drifting.
describe("container image definition", () => {
  it("when the final stage is read, then it is node:22-slim, non-root, port 8080, a data volume, SIGTERM and node as PID 1", () => {
    const lastFrom = instructions
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l.startsWith("FROM "))
      .at(-1);
    expect(lastFrom?.[0]).toBe("FROM node:22-slim");
    const final = instructions.slice(lastFrom?.[1] ?? 0);
    expect(final).toContain("USER node");
    expect(final).toContain("EXPOSE 8080");
    expect(final).toContain('VOLUME ["/data"]');
    expect(final).toContain("STOPSIGNAL SIGTERM");
    expect(final.at(-1)).toBe('CMD ["node", "--experimental-async-context-frame", "dist/src/main.js"]');
    expect(final.join("\n")).toMatch(/NODE_ENV=production/);
    expect(instructions).toContain("RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force");
  });

  it("when the image sets NODE_OPTIONS and CMD flags, then together they are exactly the node flags of `npm start`", () => {
    const start = (JSON.parse(read("package.json")) as { scripts: { start: string } }).scripts.start;
    const startFlags = start.split(/\s+/).filter((w) => w.startsWith("--"));
    const env = instructions.find((l) => l.startsWith("ENV NODE_OPTIONS="));
    const envFlags = env?.slice("ENV NODE_OPTIONS=".length).replace(/^"|"$/g, "").split(/\s+/) ?? [];
    const cmd = instructions.findLast((l) => l.startsWith("CMD "));
    const cmdFlags = (JSON.parse(cmd?.slice("CMD ".length) ?? "[]") as string[]).filter((w) => w.startsWith("--"));
    expect(startFlags.length).toBeGreaterThan(0);
    // Node 22 accepts some flags only on the command line, not in NODE_OPTIONS.
    expect([...cmdFlags, ...envFlags].sort()).toEqual([...startFlags].sort());
  });

  it("when the Dockerfile copies from the build context, then every source exists and .dockerignore keeps it", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const sources = instructions
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "src", "gen"]));
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(ignored, src).not.toContain(src);
    }
    for (const secret of [".env", "*.pem", "node_modules", ".git"]) expect(ignored).toContain(secret);
  });

  it("when the Kubernetes Deployment is read, then it probes gRPC health on 8080 and takes the key and database URL from a Secret", () => {
    const deployment = read("deploy/kubernetes/deployment.yaml");
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      expect(deployment).toMatch(new RegExp(`${probe}:\\n\\s+grpc:\\n\\s+port: 8080`));
    }
    expect(deployment).toMatch(/name: JWT_PRIVATE_KEY\n\s+valueFrom:\n\s+secretKeyRef:/);
    expect(deployment).toMatch(/name: DATABASE_URL\n\s+valueFrom:\n\s+secretKeyRef:/);
    expect(deployment).toMatch(/name: NODE_ENV\n\s+value: production/);
    expect(deployment).toMatch(/resources:\n\s+requests:\n\s+cpu: \S+\n\s+memory: \S+/);
    expect(read("deploy/kubernetes/service.yaml")).toMatch(/kind: Service/);
  });
});
