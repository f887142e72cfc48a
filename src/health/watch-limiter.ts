/**
 * Bounds the open grpc.health.v1.Health/Watch streams: each lives as long as
 * its client wants and holds a subscription, a generator and an HTTP/2
 * stream. Without a bound, one connection opening thousands of them ran the
 * process out of memory (issue 10). A cap of 0 refuses every Watch.
 */
export interface WatchLimiter {
  /** Takes a slot for `client`; returns its release function, or null when a cap is reached. */
  acquire(client: string): (() => void) | null;
  /** Watch streams open right now. */
  readonly open: number;
}

export interface WatchLimits {
  /** Open Watch streams, all clients together. */
  readonly max: number;
  /** Open Watch streams of one client (an IPv4 address or an IPv6 /64). */
  readonly maxPerClient: number;
}

export function createWatchLimiter(limits: WatchLimits): WatchLimiter {
  const perClient = new Map<string, number>();
  let open = 0;
  return {
    get open() {
      return open;
    },
    acquire(client) {
      const mine = perClient.get(client) ?? 0;
      if (open >= limits.max || mine >= limits.maxPerClient) return null;
      open++;
      perClient.set(client, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open--;
        const left = (perClient.get(client) ?? 1) - 1;
        if (left > 0) perClient.set(client, left);
        else perClient.delete(client);
      };
    },
  };
}
