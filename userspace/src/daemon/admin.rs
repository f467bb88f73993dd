//! The admin HTTP listener of a balancer's proxy: `GET /metrics` answers
//! the statistics in Prometheus text format, `GET /stats` as JSON; anything
//! else is 404, any method but GET/HEAD is 405.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    body::Incoming, header, server::conn::http1, service::service_fn, Method, Request, Response,
    StatusCode,
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch};

use crate::proxy::Handle;

/// Bound on how long one admin connection may stay open.
const ADMIN_CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn serve(listener: TcpListener, proxy: Arc<Handle>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let proxy = Arc::clone(&proxy);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let proxy = Arc::clone(&proxy);
                        async move { Ok::<_, std::convert::Infallible>(answer(&proxy, &request)) }
                    });
                    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(ADMIN_CONNECTION_TIMEOUT, connection).await;
                });
            }
        }
    }
}

fn answer(proxy: &Handle, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n".to_owned());
    }
    match request.uri().path() {
        "/metrics" => text(StatusCode::OK, "text/plain; version=0.0.4", proxy.prometheus()),
        "/stats" => match serde_json::to_string_pretty(&proxy.stats()) {
            Ok(json) => text(StatusCode::OK, "application/json", json),
            Err(err) => text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{err}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "text/plain", "try /metrics or /stats\n".to_owned()),
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}
