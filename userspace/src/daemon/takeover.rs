//! The new process's side of a hitless upgrade: started by the old daemon
//! with the handover socket in [`super::HANDOVER_FD_ENV`], it says hello,
//! takes the offered sockets, loads its datapath on the pinned maps and
//! links ([`Daemon::take_over`]), starts its proxies and says it is ready,
//! resumes the drivers from the state it is sent, takes the control socket
//! and says it is done ([`Daemon::serve`] calls the steps). If it fails
//! before that, it leaves every pin, link and socket to the old daemon.

use std::{
    collections::BTreeMap,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    time::Duration,
};

use super::{
    handover_state::{Inherited, Takeover},
    Daemon, DaemonError,
};
use crate::{
    config::{Config, Overrides},
    handover::{
        message::{HandedSocket, KNOWN_VERSIONS},
        Channel, Message,
    },
};

/// How long the old daemon may take to offer its sockets.
const OFFER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long it may take to stop its drivers in place.
const RESUME_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a daemon taking over binds its control socket until it is done.
#[must_use]
pub fn staging_socket(socket: &Path) -> PathBuf {
    let mut staging = socket.as_os_str().to_owned();
    staging.push(".new");
    PathBuf::from(staging)
}

/// The handover socket this process inherited, if it was started to take
/// over (the variable is cleared so no child inherits it).
pub fn inherited_channel() -> Result<Option<Channel>, DaemonError> {
    let Some(value) = std::env::var_os(super::HANDOVER_FD_ENV) else { return Ok(None) };
    // Called before any runtime or thread starts: nothing reads the
    // environment concurrently.
    std::env::remove_var(super::HANDOVER_FD_ENV);
    let fd: i32 = value.to_str().and_then(|text| text.parse().ok()).ok_or_else(|| {
        DaemonError::Takeover(format!("{} is not a descriptor number", super::HANDOVER_FD_ENV))
    })?;
    // SAFETY: the old daemon started this process with that descriptor for
    // this purpose and nothing else here knows of it.
    unsafe { Channel::from_raw_fd(fd) }
        .map(Some)
        .map_err(|err| DaemonError::Takeover(err.to_string()))
}

/// Under systemd (`NOTIFY_SOCKET` set, the unit's `NotifyAccess=all`):
/// this process is the service's main process now, so the old one exiting
/// does not stop the service.
fn notify_service_manager() {
    use std::os::linux::net::SocketAddrExt as _;
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let message = format!("MAINPID={}\nREADY=1\n", std::process::id());
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|socket| {
        let bytes = target.as_encoded_bytes();
        let address = match bytes.strip_prefix(b"@") {
            Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name)?,
            None => std::os::unix::net::SocketAddr::from_pathname(std::path::Path::new(&target))?,
        };
        socket.send_to_addr(message.as_bytes(), &address)
    });
    match sent {
        Ok(_) => tracing::info!("service manager told this process is the main one"),
        Err(err) => tracing::warn!(%err, "NOTIFY_SOCKET set but not reachable"),
    }
}

/// Tells the old daemon why this process gives up.
pub fn refuse(channel: &Channel, error: &str) {
    let _ = channel.send(&Message::Failed { error: error.to_owned() }, &[]);
}

fn takeover_error(what: &str, err: impl std::fmt::Display) -> DaemonError {
    DaemonError::Takeover(format!("{what}: {err}"))
}

/// Sorts the offered descriptors by what they are.
fn sort_sockets(
    sockets: Vec<HandedSocket>,
    fds: Vec<OwnedFd>,
) -> Result<(BTreeMap<String, Inherited>, Option<std::net::TcpListener>), DaemonError> {
    if sockets.len() != fds.len() {
        return Err(DaemonError::Takeover(format!(
            "offer names {} sockets but carries {} descriptors",
            sockets.len(),
            fds.len()
        )));
    }
    let mut proxies: BTreeMap<String, Inherited> = BTreeMap::new();
    let mut status = None;
    for (socket, fd) in sockets.into_iter().zip(fds) {
        let listener = std::net::TcpListener::from(fd);
        match socket {
            HandedSocket::Listener { balancer, frontend } => {
                proxies.entry(balancer).or_default().listeners.insert(frontend, listener);
            }
            HandedSocket::AdminListener { balancer } => {
                proxies.entry(balancer).or_default().admin = Some(listener);
            }
            HandedSocket::StatusListener => status = Some(listener),
        }
    }
    Ok((proxies, status))
}

impl Daemon {
    /// Takes over from the daemon at the other end of `channel`: says
    /// hello, takes the offer, loads the datapath on the pins and links it
    /// leaves. On error the old daemon is told why and keeps serving.
    pub fn take_over(
        config: Config,
        config_path: PathBuf,
        overrides: Overrides,
        channel: Channel,
    ) -> Result<Self, DaemonError> {
        let result = Self::receive_offer(&channel).and_then(|(proxies, status_listener)| {
            Self::adopt(config, config_path, overrides, proxies, status_listener)
        });
        match result {
            Ok(mut daemon) => {
                daemon.takeover.channel = Some(channel);
                Ok(daemon)
            }
            Err(err) => {
                refuse(&channel, &err.to_string());
                Err(err)
            }
        }
    }

    fn receive_offer(
        channel: &Channel,
    ) -> Result<(BTreeMap<String, Inherited>, Option<std::net::TcpListener>), DaemonError> {
        let hello = Message::Hello { pid: std::process::id(), versions: KNOWN_VERSIONS.to_vec() };
        channel.send(&hello, &[]).map_err(|err| takeover_error("saying hello", err))?;
        let (offer, fds) = channel
            .receive(OFFER_TIMEOUT)
            .map_err(|err| takeover_error("waiting for the offer", err))?;
        match offer {
            Message::Offer { version, sockets } if KNOWN_VERSIONS.contains(&version) => {
                tracing::info!(version, sockets = sockets.len(), "taking over: offer received");
                sort_sockets(sockets, fds)
            }
            Message::Offer { version, .. } => Err(DaemonError::Takeover(format!(
                "state version {version} is unknown to this binary (it knows {KNOWN_VERSIONS:?})"
            ))),
            Message::Failed { error } => {
                Err(DaemonError::Takeover(format!("the old daemon gave up: {error}")))
            }
            other => Err(DaemonError::Takeover(format!("expected an offer, got {}", other.name()))),
        }
    }

    fn adopt(
        config: Config,
        config_path: PathBuf,
        overrides: Overrides,
        proxies: BTreeMap<String, Inherited>,
        status_listener: Option<std::net::TcpListener>,
    ) -> Result<Self, DaemonError> {
        crate::datapath::pins::check_bpffs(&config.bpffs)?;
        let namespaces = super::start::open_namespaces(&config)?;
        let takeover =
            Takeover { taking_over: true, proxies, status_listener, ..Takeover::default() };
        let mut daemon = Self::idle(config, config_path, overrides, namespaces, takeover);
        let points = daemon.config.attach_points();
        if let Err(err) = daemon.attach_points(&points) {
            daemon.abandon_takeover();
            return Err(err);
        }
        Ok(daemon)
    }

    /// Proxies running: tells the old daemon, and takes the drivers' state
    /// it sends back.
    pub(super) async fn ready_for_resume(&mut self) -> Result<(), DaemonError> {
        let Some(channel) = self.takeover.channel.take() else { return Ok(()) };
        let channel = std::sync::Arc::new(channel);
        let exchange = std::sync::Arc::clone(&channel);
        let received = tokio::task::spawn_blocking(move || {
            exchange.send(&Message::Ready, &[])?;
            exchange.receive(RESUME_TIMEOUT)
        })
        .await
        .map_err(|err| takeover_error("handover task", err))?;
        let channel = std::sync::Arc::into_inner(channel).expect("the task has finished");
        let resume = match received {
            Ok((Message::Resume { vrrp, stp }, _)) => (vrrp, stp),
            Ok((other, _)) => {
                let error = format!("expected the drivers' state, got {}", other.name());
                refuse(&channel, &error);
                return Err(DaemonError::Takeover(error));
            }
            Err(err) => return Err(takeover_error("waiting for the drivers' state", err)),
        };
        tracing::info!(
            vrrp = resume.0.len(),
            stp = resume.1.len(),
            "taking over: drivers' state received"
        );
        self.takeover.vrrp =
            resume.0.into_iter().map(|state| (state.instance.clone(), state)).collect();
        self.takeover.stp =
            resume.1.into_iter().map(|state| (state.bridge_name.clone(), state)).collect();
        self.takeover.channel = Some(channel);
        Ok(())
    }

    /// Drivers resumed: the control socket moves to its place and the old
    /// daemon is told to let go. From here this process serves whatever
    /// happens to the old one, so nothing here fails.
    pub(super) fn finish_takeover(&mut self, staging: &Path, socket: &Path) {
        if let Err(err) = std::fs::rename(staging, socket) {
            tracing::error!(%err, staging = %staging.display(), "control socket not moved into place");
        }
        if let Some(channel) = self.takeover.channel.take() {
            if let Err(err) = channel.send(&Message::Done, &[]) {
                tracing::warn!(%err, "the old daemon did not hear that the takeover is done");
            }
        }
        let unclaimed: Vec<String> = (self.takeover.vrrp.keys())
            .chain(self.takeover.stp.keys())
            .chain(self.takeover.proxies.keys())
            .cloned()
            .collect();
        if !unclaimed.is_empty() {
            tracing::info!(?unclaimed, "handed-over parts the config no longer has were dropped");
        }
        self.takeover = Takeover::default();
        notify_service_manager();
        tracing::info!("takeover done");
    }

    /// A takeover that failed: lets go of the datapath without detaching a
    /// link or removing a pin (the old daemon still serves on them).
    pub(super) fn abandon_takeover(&mut self) {
        for (_, datapath) in std::mem::take(&mut self.instances) {
            datapath.release_to_successor();
        }
    }

    /// The old daemon after a successful handover: lets go of the
    /// datapath (the new process owns links and pins), drains the proxies
    /// for at most `daemon.drain_timeout`, and leaves the VXLAN tunnel as it
    /// is.
    pub(super) async fn drain_after_handover(&mut self) {
        for (_, datapath) in std::mem::take(&mut self.instances) {
            datapath.release_to_successor();
        }
        if let Some(vxlan) = self.vxlan.take() {
            vxlan.ageing.abort();
        }
        let grace = self.config.drain_timeout;
        let hosts = std::mem::take(&mut self.proxies);
        futures_util::future::join_all(hosts.into_values().map(|host| host.drain_and_stop(grace)))
            .await;
        tracing::info!("drained; exiting");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{sort_sockets, Daemon};
    use crate::handover::{message::HandedSocket, Channel, Message};

    /// Plays the old daemon: takes the hello, answers with `offer`.
    fn old_daemon_offering(offer: Message) -> (Channel, std::thread::JoinHandle<Vec<u32>>) {
        let (old, new) = Channel::pair().unwrap();
        let thread = std::thread::spawn(move || {
            let (hello, _) = old.receive(Duration::from_secs(5)).unwrap();
            let Message::Hello { versions, .. } = hello else { panic!("{}", hello.name()) };
            old.send(&offer, &[]).unwrap();
            versions
        });
        (new, thread)
    }

    #[test]
    fn an_unknown_state_version_is_refused_naming_both() {
        let (new, old) = old_daemon_offering(Message::Offer { version: 99, sockets: Vec::new() });
        let error = Daemon::receive_offer(&new).unwrap_err().to_string();
        assert_eq!(old.join().unwrap(), vec![1], "the hello names the versions this binary knows");
        assert!(error.contains("state version 99") && error.contains("[1]"), "{error}");
    }

    #[test]
    fn an_offer_whose_descriptors_do_not_match_its_list_is_refused() {
        let sockets = vec![HandedSocket::StatusListener];
        let (new, old) = old_daemon_offering(Message::Offer { version: 1, sockets });
        let error = Daemon::receive_offer(&new).unwrap_err().to_string();
        old.join().unwrap();
        assert!(error.contains("1 sockets but carries 0"), "{error}");
        assert!(sort_sockets(Vec::new(), Vec::new()).is_ok());
    }

    #[test]
    fn the_old_daemon_giving_up_is_an_error_not_a_hang() {
        let (new, old) = old_daemon_offering(Message::Failed { error: "stopping".into() });
        let error = Daemon::receive_offer(&new).unwrap_err().to_string();
        old.join().unwrap();
        assert!(error.contains("gave up: stopping"), "{error}");
    }
}
