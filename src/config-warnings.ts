import { type Config, DEFAULT_CORS_ORIGINS, DEFAULT_TOKEN_NAME } from "./config.js";

export interface ConfigWarning {
  /** The variable to set. */
  readonly setting: string;
  readonly message: string;
}

/**
 * Settings that are valid but almost surely wrong in production: the
 * development defaults of CORS_ORIGINS, JWT_ISSUER and JWT_AUDIENCE. They do
 * not stop the service (a deployment may truly mean them), so they are
 * logged as warnings at start instead.
 */
export function productionWarnings(config: Config): ConfigWarning[] {
  if (config.env !== "production") return [];
  const warnings: ConfigWarning[] = [];
  const origins = config.http.corsOrigins;
  if (origins.length === DEFAULT_CORS_ORIGINS.length && origins.every((o, i) => o === DEFAULT_CORS_ORIGINS[i])) {
    warnings.push({
      setting: "CORS_ORIGINS",
      message: `CORS_ORIGINS is the development default (${DEFAULT_CORS_ORIGINS.join(", ")}): set your browser origins`,
    });
  }
  for (const [setting, value] of [
    ["JWT_ISSUER", config.jwt.issuer],
    ["JWT_AUDIENCE", config.jwt.audience],
  ] as const) {
    if (value === DEFAULT_TOKEN_NAME) {
      warnings.push({
        setting,
        message: `${setting} is the default "${DEFAULT_TOKEN_NAME}": tokens of every deployment left so are interchangeable; set your own`,
      });
    }
  }
  return warnings;
}
