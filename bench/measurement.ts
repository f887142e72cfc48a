/** What one load run yields: throughput of successful calls and their latency. */
export interface Measurement {
  /** Successful calls per second. */
  readonly rps: number;
  /** Latency percentiles in milliseconds. */
  readonly p50: number;
  readonly p99: number;
  /** Failed calls: transport errors, timeouts, non-2xx or non-OK statuses. */
  readonly errors: number;
  /** Successful calls in the window. */
  readonly requests: number;
}
