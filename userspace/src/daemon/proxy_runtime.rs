//! The tokio runtime a balancer's proxy runs on, inside the balancer's
//! network namespace.
//!
//! With one proxy thread (the default, as haproxy's `nbthread 1`) it is a
//! current-thread runtime driven by a dedicated thread: no work-stealing
//! queues, no cross-thread wakeups between a client connection's task and
//! its server connection's task. With more threads it is a multi-thread
//! runtime. Every thread of either (workers, the driver, the blocking pool)
//! enters the namespace before it runs anything.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd as _;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::oneshot;

pub struct ProxyRuntime {
    runtime: Arc<Runtime>,
    /// The thread that drives a current-thread runtime, and how to stop it.
    driver: Option<(JoinHandle<()>, oneshot::Sender<()>)>,
}

impl ProxyRuntime {
    /// Builds the runtime; `name` names its threads, `namespace` is the
    /// network namespace they enter (none: stay where the daemon is).
    pub fn start(name: &str, threads: usize, namespace: Option<Arc<File>>) -> io::Result<Self> {
        let mut builder =
            if threads <= 1 { Builder::new_current_thread() } else { Builder::new_multi_thread() };
        if threads > 1 {
            builder.worker_threads(threads);
        }
        builder.thread_name(name).enable_all();
        if let Some(namespace) = namespace.clone() {
            builder.on_thread_start(move || enter(&namespace));
        }
        let runtime = Arc::new(builder.build()?);
        if threads > 1 {
            return Ok(Self { runtime, driver: None });
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime_ref = Arc::clone(&runtime);
        let driver_thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            if let Some(namespace) = namespace {
                enter(&namespace);
            }
            let _ = runtime_ref.block_on(stopped);
        })?;
        Ok(Self { runtime, driver: Some((driver_thread, stop)) })
    }

    #[must_use]
    pub fn handle(&self) -> &Handle {
        self.runtime.handle()
    }

    /// Stops the driver (if any) and the runtime, waiting at most `timeout`
    /// for its tasks. Blocks: call it off the async threads.
    pub fn shutdown(mut self, timeout: Duration) {
        if let Some((driver, stop)) = self.driver.take() {
            let _ = stop.send(());
            let _ = driver.join();
        }
        match Arc::try_unwrap(self.runtime) {
            Ok(runtime) => runtime.shutdown_timeout(timeout),
            // The driver is gone, so nobody else holds it; never reached.
            Err(shared) => drop(shared),
        }
    }
}

/// Moves the calling thread into `namespace`, or aborts: a proxy thread in
/// the wrong namespace would open sockets in the wrong place, and that must
/// never happen silently.
fn enter(namespace: &File) {
    // SAFETY: setns on the calling thread only; the fd is open for as long
    // as the closure that owns it (and so the runtime) lives.
    let rc = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        tracing::error!(err = %io::Error::last_os_error(), "proxy thread cannot enter its namespace");
        std::process::abort();
    }
}
