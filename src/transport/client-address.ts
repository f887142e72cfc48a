import { BlockList, isIP } from "node:net";
import { canonicalAddress } from "../net/ip-address.js";

const PEER_CACHE_MAX = 4096;

/**
 * Finds the client's address. Only when the peer is one of the configured
 * trusted proxies is `x-forwarded-for` believed, and then only up to the
 * first hop that is not itself trusted (the right-most untrusted entry), so a
 * client cannot pick its own address by sending the header.
 */
export function createClientAddressResolver(trustedProxies: readonly string[]) {
  const isTrusted = trustedPeerCheck(trustedProxies);
  // One spelling per address: IPv4-mapped IPv6 as IPv4, RFC 5952 IPv6, no zone id.
  const clean = canonicalAddress;
  // Every call asks about a peer it has usually seen before (keep-alive
  // connections, a few proxies), and canonicalising builds a SocketAddress:
  // remembered, in a map that is emptied when full, so no peer can grow it.
  const peers = new Map<string, string>();
  const cleanPeer = (peer: string): string => {
    let address = peers.get(peer);
    if (address === undefined) {
      if (peers.size >= PEER_CACHE_MAX) peers.clear();
      address = clean(peer);
      peers.set(peer, address);
    }
    return address;
  };

  return (peer: string | undefined, forwardedFor: string | string[] | undefined): string => {
    let address = cleanPeer(peer ?? "unknown");
    if (trustedProxies.length === 0 || !isTrusted(address) || !forwardedFor) return address;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
      .split(",")
      .map((h) => clean(h.trim()))
      .filter((h) => h.length > 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (isIP(hop) === 0) break;
      address = hop;
      if (!isTrusted(hop)) break;
    }
    return address;
  };
}

/** Whether an address is one of TRUSTED_PROXIES (IPs or CIDR ranges), in any spelling. */
export function trustedPeerCheck(trustedProxies: readonly string[]): (address: string) => boolean {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [addr, bits] = entry.split("/");
    const family = isIP(addr ?? "") === 6 ? "ipv6" : "ipv4";
    if (!addr || isIP(addr) === 0) throw new Error(`TRUSTED_PROXIES: ${entry} is not an IP address or CIDR range`);
    if (bits !== undefined) trusted.addSubnet(addr, Number(bits), family);
    else trusted.addAddress(addr, family);
  }
  return (address) => {
    const ip = canonicalAddress(address);
    const v = isIP(ip);
    return v !== 0 && trusted.check(ip, v === 6 ? "ipv6" : "ipv4");
  };
}
