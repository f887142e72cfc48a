import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BreakerState } from "../db/resilience.js";
import type { AuthEventName, AuthEvents } from "../domain/events.js";
import type { HashLimiter } from "../passwords/hash-limiter.js";

export interface MetricsSources {
  readonly hashLimiter: HashLimiter;
  readonly breakerState: () => BreakerState;
}

/**
 * Prometheus metrics of one app instance, in a registry of its own (never
 * prom-client's global one) so that several servers in one process do not
 * collide. Call metrics use the names of go-grpc-prometheus, which existing
 * gRPC dashboards expect.
 */
export interface Metrics {
  readonly registry: Registry;
  /** For the logging interceptor: one finished call. */
  onCallDone(procedure: string, code: string, seconds: number): void;
  /** An AuthEvents sink: logins, registrations and refresh reuse. */
  readonly events: AuthEvents;
}

const ACCOUNT_EVENTS: ReadonlySet<AuthEventName> = new Set<AuthEventName>([
  "password_changed",
  "password_reset_requested",
  "password_reset",
  "email_verification_requested",
  "email_verified",
  "session_revoked",
  "account_deleted",
]);

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, half_open: 2, isolated: 3 };

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed, by service, method and status code (all protocols: gRPC, gRPC-Web, Connect).",
    labelNames: ["grpc_service", "grpc_method", "grpc_code"] as const,
    registers,
  });
  const latency = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from receiving an RPC to its final status.",
    labelNames: ["grpc_service", "grpc_method"] as const,
    // bcrypt-bound calls take tens to hundreds of ms; the rest a few ms.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const logins = new Counter({
    name: "warden_logins_total",
    help: "Login attempts by outcome (success, failure) and failure reason.",
    labelNames: ["outcome", "reason"] as const,
    registers,
  });
  const registrations = new Counter({
    name: "warden_registrations_total",
    help: "Registration attempts that reached the database, by outcome and failure reason.",
    labelNames: ["outcome", "reason"] as const,
    registers,
  });
  const reuse = new Counter({
    name: "warden_refresh_reuse_detected_total",
    help: "Refresh tokens presented again after rotation (outside the grace window); each revoked its session.",
    registers,
  });
  const account = new Counter({
    name: "warden_account_events_total",
    help: "Account lifecycle events (password_changed, password_reset_requested, password_reset, email_verification_requested, email_verified, session_revoked, account_deleted) by outcome and failure reason.",
    labelNames: ["event", "outcome", "reason"] as const,
    registers,
  });
  new Gauge({
    name: "warden_password_hashes_active",
    help: "Password hashes (bcrypt) running right now.",
    registers,
    collect() {
      this.set(sources.hashLimiter.active);
    },
  });
  new Gauge({
    name: "warden_password_hashes_queued",
    help: "Password hashes waiting for a free slot.",
    registers,
    collect() {
      this.set(sources.hashLimiter.queued);
    },
  });
  new Gauge({
    name: "warden_db_circuit_state",
    help: "Database circuit breaker: 0 closed, 1 open, 2 half-open, 3 isolated.",
    registers,
    collect() {
      this.set(BREAKER_VALUE[sources.breakerState()]);
    },
  });

  // The labelled series of each (procedure, code), looked up once: prom-client
  // otherwise hashes the label object on every call. Bounded: procedures are
  // the served methods (the runtime answers unknown ones before any
  // interceptor) and codes are gRPC's seventeen.
  const series = new Map<string, { handled: { inc(): void }; latency: { observe(v: number): void } }>();
  const seriesOf = (procedure: string, code: string) => {
    const key = `${procedure} ${code}`;
    let s = series.get(key);
    if (s === undefined) {
      const slash = procedure.lastIndexOf("/");
      const service = procedure.slice(0, slash);
      const method = procedure.slice(slash + 1);
      s = {
        handled: handled.labels({ grpc_service: service, grpc_method: method, grpc_code: code.toUpperCase() }),
        latency: latency.labels({ grpc_service: service, grpc_method: method }),
      };
      series.set(key, s);
    }
    return s;
  };

  return {
    registry,
    onCallDone(procedure, code, seconds) {
      const s = seriesOf(procedure, code);
      s.handled.inc();
      s.latency.observe(seconds);
    },
    events: {
      emit(event) {
        const labels = { outcome: event.outcome, reason: event.reason ?? "" };
        if (event.event === "login") logins.inc(labels);
        else if (event.event === "register") registrations.inc(labels);
        else if (event.event === "refresh_reuse_detected") reuse.inc();
        else if (ACCOUNT_EVENTS.has(event.event)) account.inc({ event: event.event, ...labels });
      },
    },
  };
}
