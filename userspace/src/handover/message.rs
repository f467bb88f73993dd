//! What the old and the new process say during a handover (module docs of
//! [`super`] give the order). Every message is one JSON record; listening
//! sockets travel beside it as `SCM_RIGHTS`.

use serde::{Deserialize, Serialize};

use crate::control::{stp::StpEventRecord, vrrp::TransitionRecord};

/// The version of the state this binary sends and resumes. Bump it when a
/// snapshot's meaning changes; a binary that does not know the old
/// process's version refuses the handover and the old process keeps serving.
pub const STATE_VERSION: u32 = 1;

/// The versions this binary can resume from.
pub const KNOWN_VERSIONS: [u32; 1] = [STATE_VERSION];

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum Message {
    /// New to old: the config is valid; these are the versions I resume.
    Hello { pid: u32, versions: Vec<u32> },
    /// Old to new: the version chosen, and what each attached descriptor is,
    /// in order.
    Offer { version: u32, sockets: Vec<HandedSocket> },
    /// New to old: datapath adopted, proxies accepting.
    Ready,
    /// Old to new: the protocol drivers' state, stopped in place.
    Resume { vrrp: Vec<VrrpState>, stp: Vec<StpState> },
    /// New to old: drivers resumed, control socket taken; let go.
    Done,
    /// Either way: the handover stops here, and why.
    Failed { error: String },
}

impl Message {
    /// The message's name, for errors about an unexpected one.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Offer { .. } => "offer",
            Message::Ready => "ready",
            Message::Resume { .. } => "resume",
            Message::Done => "done",
            Message::Failed { .. } => "failed",
        }
    }
}

/// One descriptor attached to an [`Message::Offer`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HandedSocket {
    /// A frontend's listening socket.
    Listener { balancer: String, frontend: String },
    /// A balancer's admin listener (`admin_bind`).
    AdminListener { balancer: String },
    /// The status page and `/metrics` listener (`daemon.status_bind`).
    StatusListener,
}

/// The highest version both sides know, or why there is none.
pub fn choose_version(ours: &[u32], theirs: &[u32]) -> Result<u32, String> {
    ours.iter().copied().filter(|version| theirs.contains(version)).max().ok_or_else(|| {
        format!(
            "the new binary resumes state versions {theirs:?}, this daemon writes {ours:?}: \
             no version in common, so the upgrade needs a restart"
        )
    })
}

/// One VRRP instance, stopped where it stood.
#[derive(Debug, Serialize, Deserialize)]
pub struct VrrpState {
    pub instance: String,
    pub balancer: String,
    pub router: crate::vrrp::VirtualRouter,
    pub history: Vec<TransitionRecord>,
    pub tracked_down: bool,
    pub errors: u64,
    pub decode_errors: u64,
}

/// One STP bridge, stopped where it stood.
#[derive(Debug, Serialize, Deserialize)]
pub struct StpState {
    pub bridge_name: String,
    pub bridge: crate::stp::Bridge,
    /// The kernel's `stp_state` before halb took the bridge (restored at
    /// the last stop).
    pub stp_before: u32,
    pub history: Vec<StpEventRecord>,
    pub malformed: Vec<u64>,
    pub errors: u64,
}

#[cfg(test)]
mod tests {
    use super::{choose_version, HandedSocket, Message};

    #[test]
    fn the_highest_common_version_is_chosen() {
        assert_eq!(choose_version(&[1, 2, 3], &[2, 3, 4]), Ok(3));
        assert_eq!(choose_version(&[1], &[1]), Ok(1));
    }

    #[test]
    fn no_common_version_says_what_each_side_knows() {
        let error = choose_version(&[2], &[1]).unwrap_err();
        assert!(
            error.contains("[1]") && error.contains("[2]") && error.contains("restart"),
            "{error}"
        );
    }

    #[test]
    fn messages_round_trip_through_json() {
        let offer = Message::Offer {
            version: 1,
            sockets: vec![
                HandedSocket::Listener { balancer: "bal1".into(), frontend: "www".into() },
                HandedSocket::StatusListener,
            ],
        };
        let text = serde_json::to_string(&offer).unwrap();
        assert!(text.contains(r#""message":"offer""#), "{text}");
        match serde_json::from_str::<Message>(&text).unwrap() {
            Message::Offer { version, sockets } => {
                assert_eq!(version, 1);
                assert_eq!(sockets[1], HandedSocket::StatusListener);
            }
            other => panic!("came back as {}", other.name()),
        }
    }
}
