//! The old process's side of a hitless upgrade (`halb upgrade`): start
//! the new binary on a handover socket, offer it the listening sockets and
//! the datapath's links, stop the protocol drivers in place once it is
//! ready, and let go when it has resumed them. The order and the messages
//! are [`crate::handover`]'s. Until the new process says it is done, this
//! one serves on: whatever fails, it takes back what it offered.

use std::{
    os::fd::{AsFd as _, OwnedFd},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::Duration,
};

use super::Daemon;
use crate::handover::{
    message::{choose_version, HandedSocket, StpState, VrrpState, KNOWN_VERSIONS},
    Channel, ChannelError, Message,
};

/// How long the new process may take to validate its config and say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to load and verify its eBPF programs and start its
/// proxies.
const READY_TIMEOUT: Duration = Duration::from_mins(1);
/// How long it may take to resume the drivers and take the control socket.
const DONE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a driver may take to stop in place.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(2);
/// The environment variable naming the inherited handover descriptor.
pub const HANDOVER_FD_ENV: &str = "HALB_HANDOVER_FD";

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("upgrade refused: {path}: {reason}")]
    Binary { path: PathBuf, reason: String },
    #[error("upgrade refused: an upgrade of this daemon is already running")]
    Busy,
    #[error("upgrade failed, still serving: starting {path}: {cause}")]
    Spawn { path: PathBuf, cause: std::io::Error },
    #[error("upgrade failed, still serving: {0}")]
    Handover(String),
}

/// A successful handover: who serves now.
#[derive(Debug)]
pub struct Upgraded {
    pub pid: u32,
}

/// Fails unless `path` is an executable regular file.
pub fn check_binary(path: &Path) -> Result<(), UpgradeError> {
    let refuse = |reason: String| UpgradeError::Binary { path: path.to_owned(), reason };
    let metadata = std::fs::metadata(path).map_err(|err| refuse(err.to_string()))?;
    if !metadata.is_file() {
        return Err(refuse("not a regular file".to_owned()));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(refuse("not executable (chmod +x)".to_owned()));
    }
    Ok(())
}

/// The new process while the handover runs; killed and reaped unless it
/// took over.
struct Successor {
    child: Option<Child>,
}

impl Successor {
    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// What became of a process that stopped talking.
    fn fate(&mut self) -> String {
        let Some(child) = self.child.as_mut() else { return String::new() };
        for _ in 0..20 {
            if let Ok(Some(status)) = child.try_wait() {
                return format!(" (it exited: {status}; its log says why)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        String::new()
    }

    fn released(mut self) {
        // It runs on after this process; nothing to reap here.
        drop(self.child.take());
    }
}

impl Drop for Successor {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a blocking exchange on the handover socket off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ChannelError> + Send + 'static,
) -> Result<T, ChannelError> {
    tokio::task::spawn_blocking(work).await.unwrap_or(Err(ChannelError::Closed))
}

/// Waits for one message; `Failed` and anything unexpected are errors.
async fn expect(
    channel: &std::sync::Arc<Channel>,
    timeout: Duration,
    what: &'static str,
    successor: &mut Successor,
) -> Result<(Message, Vec<OwnedFd>), UpgradeError> {
    let channel = std::sync::Arc::clone(channel);
    match blocking(move || channel.receive(timeout)).await {
        Ok((Message::Failed { error }, _)) => {
            Err(UpgradeError::Handover(format!("the new process refused: {error}")))
        }
        Ok((message, fds)) if message.name() == what => Ok((message, fds)),
        Ok((message, _)) => Err(UpgradeError::Handover(format!(
            "the new process said {} where {what} was due",
            message.name()
        ))),
        Err(err) => Err(UpgradeError::Handover(format!(
            "waiting for {what} from the new process: {err}{}",
            successor.fate()
        ))),
    }
}

impl Daemon {
    /// Hands this daemon over to `binary` (this daemon's own by default).
    /// On success the caller answers the client and drains; on error this
    /// daemon is serving as before.
    pub(super) async fn upgrade(
        &mut self,
        binary: Option<PathBuf>,
    ) -> Result<Upgraded, UpgradeError> {
        // A second upgrade while one runs is refused by the control
        // socket's gate (`serve`), before it reaches here.
        let binary = binary.unwrap_or_else(|| self.binary.clone());
        check_binary(&binary)?;
        self.hand_over_to(&binary).await
    }

    async fn hand_over_to(&mut self, binary: &Path) -> Result<Upgraded, UpgradeError> {
        let failed = |err: ChannelError| UpgradeError::Handover(err.to_string());
        let (ours, theirs) = Channel::pair().map_err(failed)?;
        let fd = theirs.inheritable().map_err(failed)?;
        let mut command = Command::new(binary);
        command.arg("run").arg("--config").arg(&self.config_path);
        if let Some(run_dir) = &self.overrides.run_dir {
            command.arg("--run-dir").arg(run_dir);
        }
        command.env(HANDOVER_FD_ENV, fd.to_string());
        let child = command
            .spawn()
            .map_err(|cause| UpgradeError::Spawn { path: binary.to_owned(), cause })?;
        drop(theirs);
        let mut successor = Successor { child: Some(child) };
        tracing::info!(binary = %binary.display(), pid = successor.pid(), "upgrade: new process started");
        let channel = std::sync::Arc::new(ours);

        let (hello, _) = expect(&channel, HELLO_TIMEOUT, "hello", &mut successor).await?;
        let Message::Hello { versions, .. } = hello else { unreachable!("checked by expect") };
        let version = match choose_version(&KNOWN_VERSIONS, &versions) {
            Ok(version) => version,
            Err(reason) => {
                let _ = channel.send(&Message::Failed { error: reason.clone() }, &[]);
                return Err(UpgradeError::Handover(reason));
            }
        };
        let (sockets, fds) = self.handed_sockets().map_err(|err| {
            UpgradeError::Handover(format!("duplicating the listening sockets: {err}"))
        })?;
        if let Err(err) = self.pin_links() {
            self.reclaim_links();
            return Err(UpgradeError::Handover(format!("pinning the datapath links: {err}")));
        }
        let borrowed: Vec<_> = fds.iter().map(|fd| fd.as_fd()).collect();
        if let Err(err) = channel.send(&Message::Offer { version, sockets }, &borrowed) {
            self.reclaim_links();
            return Err(failed(err));
        }
        drop(borrowed);
        drop(fds);
        if let Err(err) = expect(&channel, READY_TIMEOUT, "ready", &mut successor).await {
            drop(successor);
            self.reclaim_links();
            return Err(err);
        }
        tracing::info!(
            pid = successor.pid(),
            "upgrade: new process ready; stopping drivers in place"
        );

        let (vrrp, stp) = self.stop_drivers_in_place().await;
        let resume = Message::Resume { vrrp, stp };
        let sent = channel.send(&resume, &[]).map_err(failed);
        let done = match sent {
            Ok(()) => expect(&channel, DONE_TIMEOUT, "done", &mut successor).await.map(|_| ()),
            Err(err) => Err(err),
        };
        if let Err(err) = done {
            // Kill it first: two processes must never drive one VRRP
            // instance. Then resume here from the state that was sent.
            drop(successor);
            let Message::Resume { vrrp, stp } = resume else { unreachable!("built above") };
            self.resume_own_drivers(vrrp, stp).await;
            self.reclaim_links();
            return Err(err);
        }
        let pid = successor.pid();
        successor.released();
        tracing::info!(pid, "upgrade: the new process took over; draining");
        Ok(Upgraded { pid })
    }

    /// Every listening socket to hand over, each with what it is.
    fn handed_sockets(&self) -> std::io::Result<(Vec<HandedSocket>, Vec<OwnedFd>)> {
        let mut sockets = Vec::new();
        let mut fds = Vec::new();
        for (balancer, host) in &self.proxies {
            let (frontends, admin) = host.listeners()?;
            for (frontend, fd) in frontends {
                sockets.push(HandedSocket::Listener { balancer: balancer.clone(), frontend });
                fds.push(fd);
            }
            if let Some(fd) = admin {
                sockets.push(HandedSocket::AdminListener { balancer: balancer.clone() });
                fds.push(fd);
            }
        }
        if let Some(listener) = &self.status_listener {
            sockets.push(HandedSocket::StatusListener);
            fds.push(listener.try_clone()?.into());
        }
        Ok((sockets, fds))
    }

    fn pin_links(&mut self) -> Result<(), crate::datapath::DatapathError> {
        for datapath in self.instances.values_mut() {
            datapath.pin_links_for_handover()?;
        }
        Ok(())
    }

    fn reclaim_links(&mut self) {
        for (instance, datapath) in &mut self.instances {
            if let Err(err) = datapath.reclaim_links() {
                tracing::error!(%instance, %err, "datapath link not taken back");
            }
        }
    }

    /// Stops every VRRP instance and STP bridge where it stands.
    async fn stop_drivers_in_place(&mut self) -> (Vec<VrrpState>, Vec<StpState>) {
        let mut vrrp = Vec::new();
        for (name, driver) in std::mem::take(&mut self.vrrp) {
            match driver.hand_over(DRIVER_TIMEOUT).await {
                Some(state) => vrrp.push(state),
                None => {
                    tracing::warn!(instance = %name, "vrrp instance gave no state; the new process starts it afresh");
                }
            }
        }
        let mut stp = Vec::new();
        for (name, driver) in std::mem::take(&mut self.stp) {
            match driver.hand_over(DRIVER_TIMEOUT).await {
                Some(state) => stp.push(state),
                None => {
                    tracing::warn!(bridge = %name, "stp bridge gave no state; the new process starts it afresh");
                }
            }
        }
        (vrrp, stp)
    }

    /// After a failed handover: the drivers carry on here from the state
    /// they stopped in.
    async fn resume_own_drivers(&mut self, vrrp: Vec<VrrpState>, stp: Vec<StpState>) {
        self.takeover.vrrp =
            vrrp.into_iter().map(|state| (state.instance.clone(), state)).collect();
        self.takeover.stp =
            stp.into_iter().map(|state| (state.bridge_name.clone(), state)).collect();
        self.sync_vrrp().await;
        self.sync_stp().await;
        self.takeover.vrrp.clear();
        self.takeover.stp.clear();
    }
}
