//! What a client may ask the daemon: one word on one line.

/// What a client may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Reload,
    Vrrp,
    Proxy,
    Vxlan,
    Stp,
}

/// Why a request line was refused; the message is the error reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("unknown request {0:?} (expected status, reload, vrrp, proxy, vxlan or stp)")]
    Unknown(String),
    #[error("no request within 2 s")]
    Timeout,
    #[error("reading request: {0}")]
    Read(String),
    #[error("request longer than {max} bytes or not newline-terminated")]
    TooLong { max: u64 },
}

impl Request {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Reload => "reload",
            Request::Vrrp => "vrrp",
            Request::Proxy => "proxy",
            Request::Vxlan => "vxlan",
            Request::Stp => "stp",
        }
    }

    pub fn parse(line: &str) -> Result<Self, RequestError> {
        match line.trim() {
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
        ] {
            assert_eq!(Request::parse(&format!("{}\n", request.as_str())), Ok(request));
        }
    }

    #[test]
    fn an_unknown_word_is_refused_naming_the_choices() {
        let err = Request::parse("stats").unwrap_err();
        assert_eq!(err, RequestError::Unknown("stats".to_owned()));
        assert_eq!(
            err.to_string(),
            "unknown request \"stats\" (expected status, reload, vrrp, proxy, vxlan or stp)"
        );
    }
}
