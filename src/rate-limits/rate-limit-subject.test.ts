import { describe, expect, it } from "vitest";
import { rateLimitSubject } from "./rate-limit-subject.ts";

describe("rateLimitSubject", () => {
  it("keeps IPv4 addresses and unwraps IPv4-mapped IPv6", () => {
    expect(rateLimitSubject("203.0.113.7")).toBe("203.0.113.7");
    expect(rateLimitSubject("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("counts IPv6 by /64, whatever the spelling", () => {
    const subject = "2001:db8:1:2::/64";
    for (const ip of [
      "2001:db8:1:2::1",
      "2001:db8:1:2::50",
      "2001:0db8:0001:0002:ffff:ffff:ffff:ffff",
      "2001:DB8:1:2:a:b:c:d",
      "2001:db8:1:2::1%eth0",
    ]) {
      expect(rateLimitSubject(ip), ip).toBe(subject);
    }
    expect(rateLimitSubject("2001:db8:1:3::1")).not.toBe(subject);
    expect(rateLimitSubject("::1")).toBe("0:0:0:0::/64");
    expect(rateLimitSubject("2001:db8::")).toBe("2001:db8:0:0::/64");
  });
});
