//! A read-only HTTP/1.1 listener: the proxy's admin listener and the daemon's status
//! listener both serve through it. GET and HEAD reach the answer function with the path;
//! any other method is 405; a connection may stay open at most 30 s.

use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{header, server::conn::http1, service::service_fn, Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch};

/// What an answer function returns.
pub type Answer = Response<Full<Bytes>>;

/// Bound on how long one connection may stay open.
const CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `answer(path)` for GET and HEAD until `stop` changes.
pub async fn serve<F, Fut>(listener: TcpListener, answer: F, mut stop: watch::Receiver<bool>)
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send,
{
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let answer = answer.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let answer = answer.clone();
                        async move {
                            if request.method() != Method::GET && request.method() != Method::HEAD {
                                return Ok::<_, std::convert::Infallible>(text(
                                    StatusCode::METHOD_NOT_ALLOWED,
                                    "text/plain",
                                    "read-only: GET only\n".to_owned(),
                                ));
                            }
                            Ok(answer(request.uri().path().to_owned()).await)
                        }
                    });
                    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
                });
            }
        }
    }
}

/// A response with `body` as `content_type`.
#[must_use]
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}
