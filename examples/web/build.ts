import { join } from "node:path";
import { build } from "esbuild";

/** Bundles the page's script into examples/web/dist/app.js; returns its path. */
export async function buildWebExample(): Promise<string> {
  const outfile = join(import.meta.dirname, "dist", "app.js");
  await build({
    entryPoints: [join(import.meta.dirname, "app.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: true,
    outfile,
    logLevel: "warning",
  });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) await buildWebExample();
