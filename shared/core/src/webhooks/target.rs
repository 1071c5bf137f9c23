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
    pub fn check_url(&self, text: &str) -> Result<Url, String> {
        if text.chars().count() > MAX_URL_CHARS {
            return Err(format!("the URL is longer than {MAX_URL_CHARS} characters"));
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
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, which holds AWS's fd00:ec2::254
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
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
