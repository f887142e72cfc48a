import { isIPv4, isIPv6, SocketAddress } from "node:net";

/**
 * The one spelling of an IP address: Node's own parser (inet_pton /
 * inet_ntop) gives the RFC 5952 form of an IPv6 address (lower case, zeros
 * compressed) and drops a zone id (`fe80::1%eth0`); an IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`, `::ffff:c000:201`) becomes the IPv4 address it
 * is. Anything that is not an address comes back unchanged.
 */
export function canonicalAddress(address: string): string {
  const bare = address.trim();
  const v6 = isIPv6(bare);
  if (!v6 && !isIPv4(bare)) return bare;
  let canonical: string;
  try {
    canonical = new SocketAddress({ address: bare, family: v6 ? "ipv6" : "ipv4" }).address;
  } catch {
    return bare;
  }
  if (v6 && canonical.startsWith("::ffff:") && isIPv4(canonical.slice(7))) return canonical.slice(7);
  return canonical;
}

/**
 * Who counts as one client for the rate limits and connection caps: an IPv4
 * address, or the /64 network of an IPv6 address (the smallest network
 * a single subscriber or VPS is normally given, RFC 6177; counting per full
 * address would hand anyone with a /64 2^64 fresh budgets). The result is
 * `2001:db8:1:2::/64`, whatever spelling the address came in.
 */
export function clientKey(address: string): string {
  const canonical = canonicalAddress(address);
  if (!isIPv6(canonical)) return canonical;
  const network = [...expandIPv6(canonical).slice(0, 4), "0", "0", "0", "0"].join(":");
  return `${canonicalAddress(network)}/64`;
}

/**
 * The eight 16-bit groups of a canonical IPv6 address, in hex without
 * leading zeros. Node offers no byte view of an address, so this splits the
 * inet_ntop form, which has at most one "::" and (once mapped IPv4 is taken
 * out) a dotted quad only in the rare IPv4-compatible form, handled too.
 */
function expandIPv6(canonical: string): string[] {
  const toGroups = (part: string) =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (!isIPv4(g)) return [g];
          const [a = 0, b = 0, c = 0, d = 0] = g.split(".").map(Number);
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const [head = "", tail] = canonical.split("::");
  const left = toGroups(head);
  const right = tail === undefined ? [] : toGroups(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}
