//! `halb import`: reads the files, runs the library's import, prints the
//! config on stdout and every directive not imported as it is on stderr.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use halb::import::{self, Options, Source};

/// The files and names `halb import` was given.
pub struct ImportArgs {
    pub haproxy: Option<PathBuf>,
    pub keepalived: Option<PathBuf>,
    pub node: Option<String>,
    pub balancer: Option<String>,
    pub netns: Option<String>,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    if args.haproxy.is_none() && args.keepalived.is_none() {
        bail!("nothing to import: give --haproxy FILE, --keepalived FILE or both");
    }
    let read = |path: &Option<PathBuf>| -> anyhow::Result<Option<(String, String)>> {
        path.as_deref()
            .map(|path: &Path| {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Ok((path.display().to_string(), text))
            })
            .transpose()
    };
    let haproxy = read(&args.haproxy)?;
    let keepalived = read(&args.keepalived)?;
    let node = match args.node {
        Some(node) => node,
        None => host_name()?,
    };
    let options = Options { node, balancer: args.balancer, netns: args.netns };
    let imported = import::import(source(haproxy.as_ref()), source(keepalived.as_ref()), &options)?;
    for entry in imported.report.listed() {
        eprintln!("{entry}");
    }
    print!("{}", imported.config);
    Ok(())
}

fn source(file: Option<&(String, String)>) -> Option<Source<'_>> {
    file.map(|(name, text)| Source { name, text })
}

/// This host's name up to the first dot: the default `daemon.node`.
fn host_name() -> anyhow::Result<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .context("reading the host name (give --node NAME instead)")?;
    let name = text.trim().split('.').next().unwrap_or_default().to_owned();
    if name.is_empty() {
        bail!("the host name is empty: give --node NAME");
    }
    Ok(name)
}
