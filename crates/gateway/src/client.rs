//! Who the client is: one answer ([`client_address`]) from the TCP peer and the forwarding
//! headers, used by the sign-in and setup limits and put on the request's log span.
//!
//! `Forwarded` (RFC 7239, its `for=` parameters) or else `X-Forwarded-For` is believed only
//! as far as it was written by a **trusted proxy** ([`TrustedProxies`], configured; none by
//! default). Walking from the TCP peer leftwards through the forwarded hops, the first
//! address that is not a trusted proxy is the client: anything to its left was written by
//! the client itself and may be made up. With no trusted proxies the headers are ignored and
//! the peer is the client, so rotating `X-Forwarded-For` values changes nothing.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

use axum::http::HeaderMap;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = addr
            .parse::<IpAddr>()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The proxies (load balancers) whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// From a comma-separated list of addresses and CIDR blocks (empty: none).
    ///
    /// # Errors
    /// Names the entry that is neither.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn new(blocks: Vec<Cidr>) -> Self {
        Self(blocks)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

/// The client's address, as [`client_address`] found it (`None` when the server was not
/// given the peer's address, as in tests over `oneshot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The client of a request that came from `peer` with `headers`: the peer itself unless it
/// is a trusted proxy; then the rightmost forwarded address that is not one (or the
/// leftmost, if every hop is trusted). A hop that does not parse ends the walk at the proxy
/// that forwarded it.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
    if !trusted.trusts(client) {
        return Some(client);
    }
    for hop in forwarded_hops(headers).into_iter().rev() {
        let Some(ip) = hop else { break };
        client = ip.to_canonical();
        if !trusted.trusts(client) {
            break;
        }
    }
    Some(client)
}

/// The forwarded addresses, leftmost (the original client, if honest) first: from every
/// `Forwarded` header's `for=` if there is one, else from `X-Forwarded-For`. `None` for a
/// hop that is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .map(|v| v.to_str().unwrap_or("garbage"))
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v.trim().trim_matches('"')))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("garbage").split(','))
        .map(|hop| parse_node(hop.trim()))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse().ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn blocks_parse_and_contain() {
        let list = TrustedProxies::parse_list("10.0.0.0/8, 192.0.2.7, 2001:db8::/32").unwrap();
        assert!(list.trusts(ip("10.1.2.3")));
        assert!(list.trusts(ip("::ffff:10.1.2.3")), "v4-mapped");
        assert!(list.trusts(ip("192.0.2.7")));
        assert!(!list.trusts(ip("192.0.2.8")));
        assert!(list.trusts(ip("2001:db8:1::5")));
        assert!(!list.trusts(ip("2001:db9::5")));
        assert!(TrustedProxies::parse_list("").unwrap().is_empty());
        assert!(TrustedProxies::parse_list("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse_list("proxy.local").is_err());
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            client_address(Some(ip("203.0.113.9")), &h, &none),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(client_address(None, &h, &none), None);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse_list("10.0.0.0/8").unwrap();
        let lb = Some(ip("10.0.0.1"));
        // The client made up the first entry; the proxy appended what it saw.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.0.0.2")]);
        assert_eq!(client_address(lb, &h, &trusted), Some(ip("198.51.100.4")));
        // Across several header lines, in order.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(client_address(lb, &h, &trusted), Some(ip("198.51.100.4")));
        // Forwarded wins over X-Forwarded-For; quoted IPv6 with a port.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.9",
            ),
        ]);
        assert_eq!(
            client_address(lb, &h, &trusted),
            Some(ip("2001:db8:cafe::17"))
        );
        // Garbage stops the walk at the proxy that forwarded it.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, garbage, 10.0.0.2")]);
        assert_eq!(client_address(lb, &h, &trusted), Some(ip("10.0.0.2")));
        // No header: the proxy itself.
        assert_eq!(client_address(lb, &HeaderMap::new(), &trusted), lb);
    }
}
