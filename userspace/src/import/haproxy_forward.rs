//! `option forwardfor` and `option forwarded` as a backend's
//! `forwardfor` / `forwarded` tables.

use super::haproxy::Directive;
use crate::proxy::section::{ForwardForSection, ForwardedSection};

/// `option forwardfor|forwarded` or `no option forwardfor|forwarded`.
pub fn names_client_headers(d: &Directive) -> bool {
    let option = if d.word(0) == "no" { d.word(2) } else { d.word(1) };
    matches!(d.word(0), "option" | "no") && matches!(option, "forwardfor" | "forwarded")
}

/// `option forwardfor [except NET] [header NAME] [if-none]`; `Err` names
/// the argument halb cannot read.
pub fn forwardfor(args: &[String]) -> Result<ForwardForSection, String> {
    let mut section = ForwardForSection { enabled: Some(true), ..ForwardForSection::default() };
    let mut words = args.iter().map(String::as_str);
    while let Some(word) = words.next() {
        match word {
            "except" => {
                let network = words.next().ok_or("`except` needs a network")?;
                section.except.push(network.to_owned());
            }
            "header" => {
                let name = words.next().ok_or("`header` needs a header name")?;
                section.header = Some(name.to_owned());
            }
            "if-none" => section.if_none = Some(true),
            other => return Err(format!("`{other}` is not an option forwardfor argument")),
        }
    }
    Ok(section)
}

/// `option forwarded [proto] [host] [for]`; `by`, the `*_port` and `*-expr`
/// parameters have no halb key and are returned as not imported.
pub fn forwarded(args: &[String]) -> (ForwardedSection, Vec<String>) {
    let mut section = ForwardedSection { enabled: Some(true), ..ForwardedSection::default() };
    let mut skipped = Vec::new();
    let mut words = args.iter().map(String::as_str);
    while let Some(word) = words.next() {
        match word {
            "proto" => section.proto = Some(true),
            "host" => section.host = Some(true),
            "for" => section.for_client = Some(true),
            expr if expr.ends_with("-expr") => {
                let value = words.next().unwrap_or_default();
                skipped.push(format!("{expr} {value}").trim_end().to_owned());
            }
            other => skipped.push(other.to_owned()),
        }
    }
    let named = [section.proto, section.host, section.for_client].iter().any(Option::is_some);
    if !named {
        section.for_client = Some(true);
    }
    (section, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn forwardfor_arguments_map_to_keys() {
        let s = forwardfor(&words("except 127.0.0.0/8 header X-Client if-none")).unwrap();
        assert_eq!(s.except, ["127.0.0.0/8"]);
        assert_eq!(s.header.as_deref(), Some("X-Client"));
        assert_eq!(s.if_none, Some(true));
        assert_eq!(forwardfor(&words("except")).unwrap_err(), "`except` needs a network");
        assert!(forwardfor(&words("bogus")).is_err());
    }

    #[test]
    fn forwarded_keeps_what_halb_has() {
        let (s, skipped) = forwarded(&words("proto host by for_port-expr src_port"));
        assert_eq!((s.proto, s.host, s.for_client), (Some(true), Some(true), None));
        assert_eq!(skipped, ["by", "for_port-expr src_port"]);
        let (s, skipped) = forwarded(&[]);
        assert_eq!(s.for_client, Some(true));
        assert!(skipped.is_empty());
    }
}
