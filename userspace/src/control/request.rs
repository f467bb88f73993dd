//! What a client may ask the daemon: one word on one line (`upgrade` may
//! be followed by the new binary's path).

/// What a client may ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Reload,
    Vrrp,
    Proxy,
    Vxlan,
    Stp,
    /// Hand the daemon over to a new process running `binary` (the
    /// daemon's own binary when `None`).
    Upgrade {
        binary: Option<std::path::PathBuf>,
    },
}

/// Why a request line was refused; the message is the error reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(
        "unknown request {0:?} (expected status, reload, vrrp, proxy, vxlan, stp or upgrade [BINARY])"
    )]
    Unknown(String),
    #[error("no request within 2 s")]
    Timeout,
    #[error("reading request: {0}")]
    Read(String),
    #[error("request longer than {max} bytes or not newline-terminated")]
    TooLong { max: u64 },
}

impl Request {
    /// The request's line, without the newline.
    #[must_use]
    pub fn line(&self) -> String {
        match self {
            Request::Status => "status".into(),
            Request::Reload => "reload".into(),
            Request::Vrrp => "vrrp".into(),
            Request::Proxy => "proxy".into(),
            Request::Vxlan => "vxlan".into(),
            Request::Stp => "stp".into(),
            Request::Upgrade { binary: None } => "upgrade".into(),
            Request::Upgrade { binary: Some(path) } => format!("upgrade {}", path.display()),
        }
    }

    pub fn parse(line: &str) -> Result<Self, RequestError> {
        let line = line.trim();
        if let Some(path) = line.strip_prefix("upgrade ") {
            return Ok(Request::Upgrade { binary: Some(path.trim().into()) });
        }
        match line {
            "upgrade" => Ok(Request::Upgrade { binary: None }),
            "status" => Ok(Request::Status),
            "reload" => Ok(Request::Reload),
            "vrrp" => Ok(Request::Vrrp),
            "proxy" => Ok(Request::Proxy),
            "vxlan" => Ok(Request::Vxlan),
            "stp" => Ok(Request::Stp),
            other => Err(RequestError::Unknown(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Request, RequestError};

    #[test]
    fn every_request_parses_back_from_its_word() {
        for request in [
            Request::Status,
            Request::Reload,
            Request::Vrrp,
            Request::Proxy,
            Request::Vxlan,
            Request::Stp,
            Request::Upgrade { binary: None },
            Request::Upgrade { binary: Some("/usr/local/bin/halb new".into()) },
        ] {
            assert_eq!(Request::parse(&format!("{}\n", request.line())), Ok(request));
        }
    }

    #[test]
    fn an_unknown_word_is_refused_naming_the_choices() {
        let err = Request::parse("stats").unwrap_err();
        assert_eq!(err, RequestError::Unknown("stats".to_owned()));
        assert_eq!(
            err.to_string(),
            "unknown request \"stats\" (expected status, reload, vrrp, proxy, vxlan, stp or upgrade [BINARY])"
        );
    }
}
