//! Names of the eBPF programs and maps, as they appear in the object file,
//! in bpftool and under the daemon's bpffs pin directory.

/// TC ingress classifier attached to every datapath interface.
pub const PROG_PORT_CLASSIFIER: &str = "port_classifier";

/// Per-CPU hash map: [`crate::PortClassKey`] -> [`crate::TrafficCounter`].
pub const MAP_PORT_TRAFFIC: &str = "PORT_TRAFFIC";

/// Per-CPU hash map: [`crate::PortClassKey`] (class = a
/// [`crate::MalformedReason`]) -> [`crate::TrafficCounter`].
pub const MAP_PORT_MALFORMED: &str = "PORT_MALFORMED";

/// Every map the daemon pins, in pin order.
pub const PINNED_MAPS: [&str; 2] = [MAP_PORT_TRAFFIC, MAP_PORT_MALFORMED];

/// Upper bound on (interface, class) entries per map: 64 interfaces per
/// daemon times every class.
pub const PORT_MAP_ENTRIES: u32 = 64 * 8;
