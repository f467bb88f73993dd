//! The rows of `docs/http-conformance.md` that say what haproxy does (where
//! it refuses as halb does, where it differs, and the deliberate exceptions
//! it shares), measured in one run: the same raw requests go to halb and to Debian's
//! `/usr/sbin/haproxy` (with the lab's settings, bound to 127.0.0.1), both
//! in front of the same raw origin, and each answer must be the one the
//! table documents, so the table cannot drift from either.

#[path = "proxy_support.rs"]
mod support;

#[path = "http_raw.rs"]
mod raw;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use halb::proxy::{Balance, ServerConfig};
use raw::{ok, Answer, Origin, Wire};

const HAPROXY: &str = "/usr/sbin/haproxy";

/// What a case looks at besides the status.
#[derive(Clone, Copy)]
enum Look {
    /// Nothing more.
    Status,
    /// A field of what the origin received (`-`: absent or not forwarded).
    Field(&'static str),
    /// The request target the origin received.
    Target,
    /// How many 1xx responses the client got before the final one.
    Interim,
    /// The client got the final response's body whole.
    Body,
    /// The same request again on the same connection: `kept` or `closed`.
    Again,
}

struct Case {
    /// The row's test in `http_conformance.rs`.
    row: &'static str,
    request: &'static [u8],
    look: Look,
    halb: &'static str,
    haproxy: &'static str,
}

const CASES: &[Case] = &[
    // The same refusal from both.
    Case {
        row: "r9112_2_2_bare_cr_in_a_field_is_400",
        request: b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_2_2_whitespace_before_the_first_field_is_400",
        request: b"GET / HTTP/1.1\r\n Host: h\r\nX-A: 1\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_2_3_http_version_is_case_sensitive",
        request: b"GET / http/1.1\r\nHost: h\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_5_1_whitespace_before_colon_is_400",
        request: b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_5_invalid_field_name_is_400",
        request: b"GET / HTTP/1.1\r\nHost: h\r\nX@Y: 1\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_3_2_more_than_one_host_is_400",
        request: b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_6_3_transfer_encoding_not_ending_in_chunked_is_400",
        request: b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_6_3_invalid_content_length_is_400",
        request: b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    Case {
        row: "r9112_6_3_differing_content_lengths_are_400",
        request: b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        look: Look::Status,
        halb: "400",
        haproxy: "400",
    },
    // Where they differ, or share an exception.
    Case {
        row: "r9112_3_2_http11_without_host_is_400",
        request: b"GET / HTTP/1.1\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "200",
    },
    Case {
        row: "r9112_3_2_invalid_host_value_is_400",
        request: b"GET / HTTP/1.1\r\nHost: exa mple\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "200",
    },
    Case {
        row: "r9112_3_2_invalid_host_value_is_400 (userinfo)",
        request: b"GET / HTTP/1.1\r\nHost: user@example\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "200",
    },
    Case {
        row: "r9112_3_2_4_options_with_empty_path_is_sent_as_slash_exception",
        request: b"OPTIONS http://lab.example HTTP/1.1\r\nHost: lab.example\r\n\r\n",
        look: Look::Target,
        halb: "200 /",
        haproxy: "200 http://lab.example",
    },
    Case {
        row: "r9112_3_request_line_with_extra_spaces_is_400",
        request: b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "200",
    },
    Case {
        row: "r9110_5_5_nul_in_a_field_value_is_400",
        request: b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n",
        look: Look::Field("x-a"),
        halb: "400 -",
        haproxy: "200 a\0b",
    },
    Case {
        row: "r9112_5_2_obs_fold_in_a_request_is_400",
        request: b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n",
        look: Look::Field("x-a"),
        halb: "400 -",
        haproxy: "200 1    folded",
    },
    Case {
        row: "r9112_6_3_content_length_with_transfer_encoding_is_400",
        request: b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "200",
    },
    Case {
        row: "r9112_6_1_transfer_encoding_in_http10_is_400",
        request: b"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        look: Look::Status,
        halb: "400",
        haproxy: "200",
    },
    Case {
        row: "r9110_8_6_identical_content_length_list_is_400",
        request: b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\nhello",
        look: Look::Field("content-length"),
        halb: "400 -",
        haproxy: "200 5",
    },
    Case {
        row: "r9110_7_6_3_via_is_added_to_requests",
        request: b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        look: Look::Field("via"),
        halb: "200 1.1 halb",
        haproxy: "200 -",
    },
    Case {
        row: "r9110_7_6_2_max_forwards_is_decremented_for_options_and_trace",
        request: b"OPTIONS / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 5\r\n\r\n",
        look: Look::Field("max-forwards"),
        halb: "200 4",
        haproxy: "200 5",
    },
    Case {
        row: "r9110_7_6_2_max_forwards_zero_is_answered_by_the_proxy",
        request: b"OPTIONS / HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\n\r\n",
        look: Look::Field("max-forwards"),
        halb: "200 -",
        haproxy: "200 0",
    },
    Case {
        row: "r9112_c_2_2_http10_keep_alive_is_kept_exception",
        request: b"GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
        look: Look::Again,
        halb: "200 kept",
        haproxy: "200 kept",
    },
    Case {
        row: "r9110_7_6_1_connection_cannot_remove_host_or_framing_exception",
        request: b"GET / HTTP/1.1\r\nHost: h\r\nConnection: host\r\n\r\n",
        look: Look::Field("host"),
        halb: "200 h",
        haproxy: "200 h",
    },
    Case {
        row: "r9110_9_3_6_connect_is_refused_exception",
        request: b"CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n",
        look: Look::Target,
        halb: "400 -",
        haproxy: "200 example:443",
    },
    Case {
        row: "r9110_15_2_1xx_from_the_origin_is_not_forwarded_exception",
        request: b"GET /early HTTP/1.1\r\nHost: h\r\n\r\n",
        look: Look::Interim,
        halb: "200 0",
        haproxy: "200 1",
    },
    Case {
        row: "r9112_5_2_response_obs_fold_is_502",
        request: b"GET /fold HTTP/1.1\r\nHost: h\r\n\r\n",
        look: Look::Body,
        halb: "502",
        haproxy: "200 ok",
    },
    Case {
        row: "r9112_5_1_response_whitespace_before_colon_is_502_exception",
        request: b"GET /space HTTP/1.1\r\nHost: h\r\n\r\n",
        look: Look::Status,
        halb: "502",
        haproxy: "502",
    },
    Case {
        row: "r9112_3_long_target_gets_431_exception",
        request: &LONG_TARGET,
        look: Look::Status,
        halb: "431",
        haproxy: "400",
    },
];

const LONG: usize = 70_000;

/// A target longer than the 64 KiB head limit of both proxies.
static LONG_TARGET: [u8; LONG] = {
    const HEAD: &[u8] = b"GET /";
    const TAIL: &[u8] = b" HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut bytes = [b'a'; LONG];
    let mut i = 0;
    while i < HEAD.len() {
        bytes[i] = HEAD[i];
        i += 1;
    }
    let mut j = 0;
    while j < TAIL.len() {
        bytes[LONG - TAIL.len() + j] = TAIL[j];
        j += 1;
    }
    bytes
};

/// The origin both proxies use: `/early` gets a 103 first, `/fold` a
/// folded field, `/space` whitespace before a colon, anything else `200 ok`.
async fn origin() -> Origin {
    Origin::start(|r| match r.target() {
        "/early" => Answer {
            bytes: b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            close: false,
        },
        "/fold" => Answer {
            bytes: b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            close: false,
        },
        "/space" => Answer {
            bytes: b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok".to_vec(),
            close: false,
        },
        _ => ok("ok"),
    })
    .await
}

/// haproxy with the lab's settings (`xtask/src/lab/services.rs`'s
/// `haproxy_conf`: timeouts, retries, redispatch, round robin, checks),
/// listening on a free loopback port, in front of `origin`.
struct Haproxy {
    child: Child,
    addr: SocketAddr,
    config: std::path::PathBuf,
}

impl Haproxy {
    fn start(origin: SocketAddr) -> Self {
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let config =
            std::env::temp_dir().join(format!("halb-conformance-haproxy-{}.cfg", addr.port()));
        let text = format!(
            "global\n    maxconn 200\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n    timeout check 1s\n    retries 2\n    option redispatch 1\n\
             frontend miservidor\n    bind {addr}\n    default_backend misServidores\n\
             backend misServidores\n    balance roundrobin\n    default-server inter 1s fall 2 rise 2\n    server serv1 {origin} check\n"
        );
        std::fs::write(&config, text).unwrap();
        let child = Command::new(HAPROXY)
            .args(["-db", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy starts");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, addr, config }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// Sends the case to `proxy`; the answer in the table's words.
async fn measure(proxy: SocketAddr, origin: &Origin, case: &Case) -> String {
    let before = origin.received().len();
    let mut client = Wire::connect(proxy).await;
    client.send(case.request).await;
    let (interim, last) = client.final_response(false).await;
    let status = last.as_ref().map_or(0, |r| r.status);
    let got = origin.received().get(before).cloned();
    let seen = match case.look {
        Look::Status => return status.to_string(),
        Look::Field(name) => {
            got.map(|g| g.field(name).join(", ")).filter(|v| !v.is_empty()).unwrap_or("-".into())
        }
        Look::Target => got.map_or("-".into(), |g| g.target().to_owned()),
        Look::Interim => interim.len().to_string(),
        Look::Body => match last.filter(|r| r.status == 200) {
            Some(r) => r.text(),
            None => return status.to_string(),
        },
        Look::Again => {
            client.send(case.request).await;
            let again = client.response(false).await.is_some_and(|r| r.status == 200);
            if again { "kept" } else { "closed" }.to_owned()
        }
    };
    format!("{status} {seen}")
}

#[tokio::test]
async fn halb_and_haproxy_differ_where_the_table_says() {
    if !std::path::Path::new(HAPROXY).exists() {
        eprintln!("skipped: {HAPROXY} is not installed (apt-get install haproxy)");
        return;
    }
    let origin = origin().await;
    let haproxy = Haproxy::start(origin.addr);
    let mut server = ServerConfig::new("origin", origin.addr);
    server.check = None;
    let (halb, halb_addr) =
        support::start_proxy(support::config(vec![server], Balance::RoundRobin)).await;
    let mut wrong = Vec::new();
    for case in CASES {
        let by_halb = measure(halb_addr, &origin, case).await;
        let by_haproxy = measure(haproxy.addr, &origin, case).await;
        if (by_halb.as_str(), by_haproxy.as_str()) != (case.halb, case.haproxy) {
            wrong.push(format!(
                "{}: halb {by_halb:?} (table {:?}), haproxy {by_haproxy:?} (table {:?})",
                case.row, case.halb, case.haproxy
            ));
        }
    }
    halb.shutdown().await;
    assert!(
        wrong.is_empty(),
        "answers differ from docs/http-conformance.md:\n{}",
        wrong.join("\n")
    );
}
