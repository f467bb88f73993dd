//! Why halb does not take a keepalived statement, one sentence per family,
//! and the keepalived sections it knows (anything else is a syntax error).

/// Top-level keywords of keepalived.conf(5) that halb does not import, with the reason.
#[must_use]
pub fn section_reason(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "vrrp_sync_group" => "halb runs each instance on its own: instances of a group do not change state together",
        "virtual_server" | "virtual_server_group" => {
            "halb balances at L7 with [balancer.proxy] (haproxy's frontends and backends); it has no IPVS (LVS) virtual servers"
        }
        "static_ipaddress" | "static_routes" | "static_rules" => {
            "halb leaves static addresses, routes and rules to the system (ip, netplan)"
        }
        "include" => "halb import reads one file: put the included statements into it",
        "vrrp_track_process" | "track_process" | "vrrp_track_file" | "track_file" | "linkbeat_interfaces" | "bfd_instance" => {
            "halb tracks proxy backends only (track_backend)"
        }
        "garp_group" => "halb sends gratuitous ARPs per instance (garp_master_repeat, garp_master_delay)",
        "net_namespace" | "net_namespace_ipvs" | "instance" | "namespace_with_ipsets" => {
            "halb names the balancer's namespace with --netns (balancer.netns)"
        }
        _ => return None,
    })
}

/// Why an instance statement `keyword` is not imported.
#[must_use]
pub fn instance_reason(keyword: &str) -> &'static str {
    match keyword {
        "unicast_peer" | "unicast_src_ip" | "unicast_ttl" | "unicast_fault_no_peer" => {
            "halb sends adverts to the VRRP multicast group 224.0.0.18 only (no unicast peers)"
        }
        "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify"
        | "notify_deleted" | "notify_master_rx_lower_pri" | "smtp_alert" => {
            "halb runs no scripts and sends no mail on state changes; watch `halb vrrp status` or /metrics"
        }
        "mcast_src_ip" => "halb sends adverts from the interface's primary address",
        "virtual_ipaddress_excluded" => "halb puts every virtual address in its adverts (no excluded addresses)",
        "virtual_routes" | "virtual_rules" => "halb adds no routes or rules with the virtual addresses",
        "use_vmac" | "vmac_xmit_base" => "halb creates no macvlan interface for the virtual MAC",
        "track_interface" | "dont_track_primary" | "track_process" | "track_file" | "track_bfd" => {
            "halb tracks proxy backends only (track_backend); a link that goes down stops the instance's adverts anyway"
        }
        "garp_master_refresh" | "garp_master_refresh_repeat" | "garp_lower_prio_delay" | "garp_lower_prio_repeat" => {
            "halb sends gratuitous ARPs on becoming master (garp_master_repeat, garp_master_delay) and answers lower-priority adverts itself"
        }
        "lvs_sync_daemon_interface" => "halb has no IPVS (LVS) connection sync",
        _ => "not an instance setting halb has",
    }
}

/// Why a `global_defs` statement `keyword` is not imported.
#[must_use]
pub fn global_reason(keyword: &str) -> &'static str {
    match keyword {
        "notification_email"
        | "notification_email_from"
        | "smtp_server"
        | "smtp_connect_timeout"
        | "smtp_helo_name" => "halb sends no mail; watch `halb vrrp status` or /metrics",
        "enable_script_security" | "script_user" => "halb runs no scripts",
        "vrrp_strict" => "halb follows RFC 5798 as it is (no strict mode switch)",
        "vrrp_skip_check_adv_addr" | "vrrp_check_unicast_src" => {
            "halb checks every advert's addresses"
        }
        "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
            "halb uses the VRRP multicast group 224.0.0.18"
        }
        "lvs_id" | "lvs_sync_daemon" | "lvs_flush" | "lvs_timeouts" => "halb has no IPVS (LVS)",
        _ => "not a global setting halb has",
    }
}
