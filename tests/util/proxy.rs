//! A fault-injecting TCP proxy for the uplink tests: sits between leafd and a hub node and
//! can cut every connection, refuse new ones, or stall either direction (stop reading, so
//! the sender's socket buffers fill as on a link that has gone quiet).
//!
//! Plain threads and blocking sockets: it runs beside the async test, not inside it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use super::broker::candidate_port;

#[derive(Debug, Default)]
struct State {
    /// Stop copying leafd → hub.
    stall_up: bool,
    /// Stop copying hub → leafd.
    stall_down: bool,
    /// Close connections as soon as they are accepted.
    refuse: bool,
    /// Bytes per second leafd → hub, if limited (a slow uplink).
    throttle_up: Option<u64>,
    /// Sockets of the live connections (both ends), for `cut`.
    open: Vec<TcpStream>,
    /// Bumped by `cut`; copiers of an older generation stop.
    generation: u64,
}

/// The proxy; stops accepting when dropped (its threads end with their sockets).
#[derive(Debug, Clone)]
pub struct Proxy {
    pub port: u16,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl Proxy {
    /// Listens on a fresh loopback port and forwards each connection to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let port = candidate_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind proxy");
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let shared = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(down) = conn else { continue };
                let refuse = shared.0.lock().expect("proxy state").refuse;
                if refuse {
                    let _ = down.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(up) = TcpStream::connect(target) else {
                    let _ = down.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = up.set_nodelay(true);
                let _ = down.set_nodelay(true);
                let generation = {
                    let mut s = shared.0.lock().expect("proxy state");
                    s.open.push(down.try_clone().expect("clone socket"));
                    s.open.push(up.try_clone().expect("clone socket"));
                    s.generation
                };
                copy(
                    down.try_clone().expect("clone"),
                    up.try_clone().expect("clone"),
                    true,
                    generation,
                    shared.clone(),
                );
                copy(up, down, false, generation, shared.clone());
            }
        });
        Proxy { port, state }
    }

    /// `nats-leaf://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats-leaf://127.0.0.1:{}", self.port)
    }

    fn with(&self, f: impl FnOnce(&mut State)) {
        let (lock, cv) = &*self.state;
        f(&mut lock.lock().expect("proxy state"));
        cv.notify_all();
    }

    /// Closes every open connection (both sides see the socket shut).
    pub fn cut(&self) {
        self.with(|s| {
            s.generation += 1;
            for sock in s.open.drain(..) {
                let _ = sock.shutdown(Shutdown::Both);
            }
        });
    }

    /// Refuses (accepts and closes at once) new connections while `on`.
    pub fn refuse(&self, on: bool) {
        self.with(|s| s.refuse = on);
    }

    /// Limits leafd → hub to `bytes_per_sec` (`None`: full speed), like a slow cellular link.
    pub fn throttle_up(&self, bytes_per_sec: Option<u64>) {
        self.with(|s| s.throttle_up = bytes_per_sec);
    }

    /// Stops (or restarts) copying in each direction.
    pub fn stall(&self, up: bool, down: bool) {
        self.with(|s| {
            s.stall_up = up;
            s.stall_down = down;
        });
    }
}

/// Copies `from` → `to` on a thread until either side closes or the connection is cut.
fn copy(
    mut from: TcpStream,
    mut to: TcpStream,
    upward: bool,
    generation: u64,
    state: Arc<(Mutex<State>, Condvar)>,
) {
    thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            {
                let (lock, cv) = &*state;
                let mut s = lock.lock().expect("proxy state");
                while (if upward { s.stall_up } else { s.stall_down }) && s.generation == generation
                {
                    s = cv
                        .wait_timeout(s, Duration::from_millis(50))
                        .expect("proxy state")
                        .0;
                }
                if s.generation != generation {
                    break;
                }
            }
            let throttle = if upward {
                state.0.lock().expect("proxy state").throttle_up
            } else {
                None
            };
            // A throttled link moves small chunks, each after its share of time.
            let chunk = throttle.map_or(buf.len(), |r| (r as usize / 20).clamp(64, buf.len()));
            match from.read(&mut buf[..chunk]) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(rate) = throttle {
                        thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
