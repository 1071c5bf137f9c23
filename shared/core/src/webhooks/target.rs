//! Where deliveries may go: public https endpoints only, so that a webhook cannot make us reach
//! into a private network or a cloud metadata service (SSRF). Checked on the URL when a webhook is
//! saved, and on every resolved address when a delivery is sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Longest accepted `targetUrl`.
pub const MAX_URL_CHARS: usize = 2048;

/// What targets are allowed. In AWS: public https only. `allow_private` is for local development
/// (caliper-local --allow-private-webhooks): plain http and private addresses are accepted too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Checks a `targetUrl` as written; says what is wrong in words a user can act on.
    /// The URL is kept as parsed ([`Url::as_str`]), never as written: what is checked is what
    /// deliveries use.
    pub fn check_url(&self, text: &str) -> Result<Url, String> {
        if text.chars().count() > MAX_URL_CHARS {
            return Err(format!("the URL is longer than {MAX_URL_CHARS} characters"));
        }
        // Parsers disagree on these (`https://a.example\@10.0.0.1/` is a.example to one and
        // 10.0.0.1 to another): a target URL must not depend on which one reads it.
        if let Some(c) = text
            .chars()
            .find(|c| *c == '\\' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "the URL contains {c:?}, which URL readers take differently; write it without (percent-encode it in the path or query)"
            ));
        }
        let url = Url::parse(text).map_err(|e| format!("{text:?} is not an absolute URL: {e}"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            other => {
                return Err(format!(
                    "the URL's scheme is {other:?}; deliveries go to https URLs only"
                ))
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not carry a user name or password; authenticate deliveries by their signature".into());
        }
        let private = match url.host() {
            None => return Err("the URL has no host".into()),
            Some(Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost") || !name.contains('.')
            }
        };
        if private && !self.allow_private {
            return Err(format!(
                "{} is a private, loopback or link-local host; deliveries go to public addresses only",
                url.host_str().unwrap_or_default()
            ));
        }
        Ok(url)
    }

    /// Whether a delivery may connect to `ip`.
    pub fn admits(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

/// Whether `ip` is an ordinary public unicast address: not loopback, private, shared (CGNAT),
/// link-local (which holds the cloud metadata service), unspecified, broadcast, multicast,
/// documentation, benchmarking or reserved; IPv6 forms that embed an IPv4 address are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match segments {
        // IPv4-mapped (::ffff:0:0/96) and IPv4-translated (::ffff:0:0:0/96, RFC 2765).
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => {
            return is_public_v4(v4(hi, lo))
        }
        // NAT64's well-known prefix (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return is_public_v4(v4(hi, lo)),
        // 6to4 (2002::/16) reaches the IPv4 address in its second and third segments.
        [0x2002, hi, lo, ..] => return is_public_v4(v4(hi, lo)),
        // Teredo (2001::/32): a server's IPv4 address, and the client's, inverted, at the end;
        // both must be public.
        [0x2001, 0, server_hi, server_lo, _, _, client_hi, client_lo] => {
            return is_public_v4(v4(server_hi, server_lo))
                && is_public_v4(v4(!client_hi, !client_lo))
        }
        _ => {}
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, which holds AWS's fd00:ec2::254
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x2001 && segments[1] == 0x0002 && segments[2] == 0) // benchmarking
        || (segments[0] == 0x2001 && (segments[1] & 0xfff0) == 0x0020) // ORCHIDv2
        || segments[..4] == [0x0100, 0, 0, 0] // discard-only (100::/64)
        // NAT64 for local use (64:ff9b:1::/48) translates to addresses of the local network.
        || segments[..3] == [0x64, 0xff9b, 1]
        || (segments[..6] == [0, 0, 0, 0, 0, 0])) // IPv4-compatible (deprecated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "2001:db8::1",
            // IPv4 embedded in IPv6, each form with a private or metadata address inside.
            "::ffff:0:a9fe:a9fe",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:abcd::1",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo, client 192.0.2.45 (documentation)
            "2001:0:a00:1:8000:63bf:f7f6:fefe",     // Teredo server 10.0.0.1
            "2001:0:4136:e378:8000:63bf:5601:5601", // Teredo, client 169.254.169.254 (metadata)
            "100::1",
            "2001:2::1",
            "2001:20::1",
        ] {
            let ip: IpAddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(!is_public(ip), "{text} counted as public");
        }
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "::ffff:0:808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo: server 65.54.227.120, client 8.8.8.8
        ] {
            let ip: IpAddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(is_public(ip), "{text} counted as private");
        }
    }

    #[test]
    fn urls_must_be_public_https_without_credentials() {
        let strict = TargetPolicy::default();
        assert!(strict
            .check_url("https://hooks.example.com/caliper?x=1")
            .is_ok());
        for (url, why) in [
            ("http://hooks.example.com/", "scheme"),
            ("ftp://hooks.example.com/", "scheme"),
            ("hooks.example.com/path", "absolute"),
            ("https://user:pw@hooks.example.com/", "password"),
            ("https://127.0.0.1/", "private"),
            ("https://[::1]:8443/", "private"),
            ("https://169.254.169.254/latest/meta-data", "private"),
            ("https://0x7f.1/", "private"), // 127.0.0.1 written in hex
            ("https://localhost:8080/", "private"),
            ("https://api.localhost/", "private"),
            ("https://intranet/", "private"),
            ("https://example.com\\@127.0.0.1/", "take differently"),
            ("https://example.com/a b", "take differently"),
            ("https://example.com/\tx", "take differently"),
            ("https://[64:ff9b::a9fe:a9fe]/", "private"),
            ("https://[2002:a9fe:a9fe::1]/", "private"),
            ("https://[::ffff:0:7f00:1]/", "private"),
        ] {
            let error = strict
                .check_url(url)
                .err()
                .unwrap_or_else(|| panic!("{url} accepted"));
            assert!(error.contains(why), "{url}: {error}");
        }
        let local = TargetPolicy {
            allow_private: true,
        };
        assert!(local.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(local.check_url("http://localhost/hook").is_ok());
        assert!(local.check_url("ftp://localhost/").is_err());
        assert!(local.admits("10.0.0.1".parse().unwrap_or_else(|_| unreachable!())));
        assert!(!strict.admits("10.0.0.1".parse().unwrap_or_else(|_| unreachable!())));
    }
}
