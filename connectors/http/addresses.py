"""Which IP addresses the fetcher may connect to (pure logic, no I/O).

Anything that is not a public unicast address is blocked: loopback, private, link-local,
multicast, reserved, unspecified, shared (CGNAT) and documentation ranges, for IPv4 and IPv6.
IPv6 forms that embed an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by the
embedded address too. Networks on the allow-list are exempt (tests allow 127.0.0.0/8).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def block_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        mapped = block_reason(address.ipv4_mapped)
        return f"{mapped} (IPv4-mapped)" if mapped else None
    for embedded in _embedded_ipv4(address):
        reason = block_reason(embedded)
        if reason:
            return f"{reason} (embedded in {address})"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.sixtofour]
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [embedded for embedded in found if embedded is not None]


@dataclass(frozen=True)
class AddressPolicy:
    """Blocks non-public addresses unless an allowed network contains them."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> AddressPolicy:
        """Build the policy from CIDR strings; raises ValueError for a malformed one."""
        return cls(tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs))

    def refusal(self, address: str) -> str | None:
        """The reason to refuse connecting to `address` (an IP literal), or None to allow."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self.allowed):
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            mapped = ip.ipv4_mapped
            if any(mapped in network for network in self.allowed):
                return None
        reason = block_reason(ip)
        return f"{address} is {reason}" if reason else None
