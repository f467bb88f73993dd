//! Every config file of the lab, written into its run dir by [`write_configs`]: nginx,
//! keepalived and haproxy ([`classic`]) and the halb daemons' ([`halb`]), with the settings
//! the classic configs and halb's share (so that both implementations of a component run
//! with the same values and the checkpoints compare).

pub mod classic;
pub mod halb;
mod shared;

pub use shared::{ProxySettings, PROXY, PROXY_ADMIN_BIND, VRRP_INSTANCE, VRRP_INTERFACE};

use anyhow::{Context, Result};

use super::rundir::{Lab, LabConfig};
use super::topo;

/// Writes every config file of the lab.
pub fn write_configs(lab: &Lab, config: &LabConfig) -> Result<()> {
    for (node, ip) in topo::SERVERS {
        lab.write(format!("{node}/nginx.conf"), &classic::nginx_conf(lab, node, ip))?;
        for t in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            let d = lab.node_dir(node).join("tmp").join(t);
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
        }
    }
    for bal in &topo::BALANCERS {
        lab.write(
            format!("{}/keepalived.conf", bal.name),
            &classic::keepalived_conf(bal, config.vrrp),
        )?;
        lab.write(format!("{}/haproxy.cfg", bal.name), &classic::haproxy_conf(lab, bal.name))?;
    }
    for host in topo::DAEMON_NODES {
        if config.runs_daemon(host) {
            lab.write(format!("halb/{host}.toml"), &halb::config_toml(lab, config, host)?)?;
        }
    }
    Ok(())
}
