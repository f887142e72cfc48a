import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { openApiDocument } from "../../../gen/auth/v1/openapi.js";
import { type HttpRoute, pathOf, sendJson } from "./http-util.js";

const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** The only files of swagger-ui-dist that are served, and their types. */
const ASSETS: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "index.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>warden API</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="/docs/index.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

// validatorUrl null: the default would send the document to validator.swagger.io.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
};
`;

// Swagger UI sets inline styles; everything else must come from this origin.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/**
 * `/openapi.json` (generated from the proto by tools/protoc-gen-openapi.ts)
 * and Swagger UI at `/docs`, served from the swagger-ui-dist package so it
 * works offline and loads nothing from other hosts.
 */
export function createDocsRoute(): HttpRoute {
  const cache = new Map<string, Buffer>();
  const send = (res: Parameters<HttpRoute>[1], type: string, body: string | Buffer) => {
    res.statusCode = 200;
    res.setHeader("Content-Type", type);
    res.setHeader("Content-Security-Policy", CSP);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "public, max-age=3600");
    res.end(body);
  };
  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = pathOf(req);
    if (path === "/openapi.json") {
      sendJson(res, 200, openApiDocument);
      return true;
    }
    if (path === "/docs" || path === "/docs/") {
      send(res, "text/html; charset=utf-8", PAGE);
      return true;
    }
    if (path === "/docs/swagger-initializer.js") {
      send(res, "text/javascript; charset=utf-8", INITIALIZER);
      return true;
    }
    const name = path.startsWith("/docs/") ? path.slice("/docs/".length) : "";
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (type === undefined) return false;
    let body = cache.get(name);
    if (body === undefined) {
      body = await readFile(join(SWAGGER_DIR, name));
      cache.set(name, body);
    }
    send(res, type, body);
    return true;
  };
}
