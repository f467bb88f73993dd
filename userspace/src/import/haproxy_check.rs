//! haproxy's HTTP health checks: `option httpchk [METHOD] [URI] [VERSION]`
//! and `http-check expect status CODE` / `http-check send meth M uri U`
//! onto halb's `httpchk` table. Each function answers what it took and, if
//! something was left out, why.

use crate::proxy::section::HttpCheckSection;

/// What one check directive gave: the check so far, and a remark for what
/// it did not carry over (`Err`: nothing of it applies).
pub type Read = Result<Option<String>, String>;

/// `option httpchk` (the words after `option`); `check` is the section's
/// check so far. Every form applies; the remark says what is not sent.
pub fn option_httpchk(check: &mut HttpCheckSection, args: &[String]) -> Option<String> {
    match args {
        [] => {}
        [uri] => check.path = Some(uri.clone()),
        [method, uri, rest @ ..] => {
            check.method = Some(method.clone());
            check.path = Some(uri.clone());
            if !rest.is_empty() {
                return Some(format!(
                    "halb sends its checks as HTTP/1.1 with its own Host; `{}` is not sent",
                    rest.join(" ")
                ));
            }
        }
    }
    None
}

/// `http-check ...` (the words after `http-check`).
pub fn http_check(check: &mut HttpCheckSection, args: &[String]) -> Read {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["expect", "status", code] => match code.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => {
                check.expect_status = Some(code);
                Ok(None)
            }
            _ => Err(format!("halb expects one status code, `{code}` is not one")),
        },
        ["expect", ..] => Err("halb's checks expect one status code (`http-check expect status CODE`); no string, regex, negation or header matches".to_owned()),
        ["send", rest @ ..] => {
            let mut left = Vec::new();
            let mut pairs = rest.iter();
            while let Some(key) = pairs.next() {
                let value = pairs.next().copied().unwrap_or_default();
                match *key {
                    "meth" => check.method = Some(value.to_owned()),
                    "uri" => check.path = Some(value.to_owned()),
                    // `hdr NAME VALUE`: two words.
                    "hdr" => left.push(format!("hdr {value} {}", pairs.next().copied().unwrap_or_default())),
                    other => left.push(format!("{other} {value}")),
                }
            }
            Ok((!left.is_empty()).then(|| {
                format!("halb sends its checks as HTTP/1.1 with its own Host; `{}` is not sent", left.join(" "))
            }))
        }
        ["disable-on-404"] => Err("halb has no draining on 404: a 404 fails the check".to_owned()),
        _ => Err("halb's checks are one request (`option httpchk`) and one expected status".to_owned()),
    }
}

/// The remark for an `option httpchk` without `http-check expect`.
pub const DEFAULT_EXPECT: &str =
    "without `http-check expect status`, haproxy takes any 2xx or 3xx; halb expects 200 (set httpchk.expect-status)";

#[cfg(test)]
mod tests {
    use super::{http_check, option_httpchk};
    use crate::proxy::section::HttpCheckSection;

    fn words(text: &str) -> Vec<String> {
        crate::import::words::split(text, &[]).expect("test words")
    }

    #[test]
    fn option_and_http_check_forms() {
        let mut check = HttpCheckSection::default();
        assert_eq!(option_httpchk(&mut check, &words("/health")), None);
        assert_eq!(check.path.as_deref(), Some("/health"));
        let note = option_httpchk(&mut check, &words("HEAD /ping HTTP/1.1"));
        assert!(note.unwrap().contains("HTTP/1.1"));
        assert_eq!(check.method.as_deref(), Some("HEAD"));
        assert_eq!(http_check(&mut check, &words("expect status 204")), Ok(None));
        assert_eq!(check.expect_status, Some(204));
        assert!(http_check(&mut check, &words("expect string OK")).is_err());
        let note = http_check(&mut check, &words("send meth GET uri /ready hdr Host a")).unwrap();
        assert_eq!((check.method.as_deref(), check.path.as_deref()), (Some("GET"), Some("/ready")));
        assert!(note.unwrap().contains("hdr Host"));
    }
}
