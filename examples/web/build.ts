import { join } from "node:path";
import { build } from "esbuild";

/**
 * Bundles the pages' scripts into examples/web/dist/: app.js (index.html)
 * and links.js (reset-password.html, verify-email.html). Returns app.js's path.
 */
export async function buildWebExample(): Promise<string> {
  const outdir = join(import.meta.dirname, "dist");
  await build({
    entryPoints: [join(import.meta.dirname, "app.ts"), join(import.meta.dirname, "links.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: true,
    outdir,
    logLevel: "warning",
  });
  return join(outdir, "app.js");
}

if (import.meta.url === `file://${process.argv[1]}`) await buildWebExample();
