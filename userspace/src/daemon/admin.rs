//! The admin HTTP listener of a balancer's proxy: `GET /metrics` answers
//! the statistics in Prometheus text format, `GET /stats` as JSON; anything
//! else is 404, any method but GET/HEAD is 405.

use std::sync::Arc;

use hyper::StatusCode;
use tokio::{net::TcpListener, sync::watch};

use super::read_only_http::{self, text, Answer};
use crate::proxy::Handle;

pub async fn serve(listener: TcpListener, proxy: Arc<Handle>, stop: watch::Receiver<bool>) {
    let answer = move |path: String| {
        let proxy = Arc::clone(&proxy);
        async move { answer(&proxy, &path) }
    };
    read_only_http::serve(listener, answer, stop).await;
}

fn answer(proxy: &Handle, path: &str) -> Answer {
    match path {
        "/metrics" => text(StatusCode::OK, "text/plain; version=0.0.4", proxy.prometheus()),
        "/stats" => match serde_json::to_string_pretty(&proxy.stats()) {
            Ok(json) => text(StatusCode::OK, "application/json", json),
            Err(err) => text(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{err}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "text/plain", "try /metrics or /stats\n".to_owned()),
    }
}
