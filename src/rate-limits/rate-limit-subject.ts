/**
 * The part of a client address a per-IP limit counts against: the address itself for IPv4,
 * the /64 prefix for IPv6 — one subscriber usually holds a whole /64, so counting single
 * IPv6 addresses would give each client 2^64 buckets. IPv4-mapped IPv6 (`::ffff:1.2.3.4`,
 * as Node reports IPv4 peers on dual-stack sockets) counts as the IPv4 address.
 */
export function rateLimitSubject(ip: string): string {
  const address = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1] as string;
  if (!address.includes(":")) return address;
  const zoneless = address.split("%")[0] as string;
  const [head = "", tail] = zoneless.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g || "0", 16) || 0).toString(16))
    .join(":")}::/64`;
}
