//! Benches measured as deployed: the bench binary re-runs itself as a server or as a client,
//! each in a process of its own pinned to a core of its own (with `taskset`, where there
//! is one), and each process's CPU is read from its threads' `schedstat`.
//!
//! A server role prints its address on its first line and serves until killed; a client
//! role gets the server's address and the seconds to run among its arguments, and prints
//! `messages seconds cpu-seconds` on its last line.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The environment variable that makes the bench binary one server or one client.
pub const ROLE: &str = "STREAMPOD_BENCH_ROLE";

/// CPU time so far of process `pid`'s threads, in seconds.
pub fn process_cpu(pid: u32) -> f64 {
    let nanos: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| super::harness::thread_cpu_nanos(&task.path()))
        .sum();
    nanos as f64 / 1e9
}

/// Whether processes can be pinned to cores here.
pub fn taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// This binary in `role`, pinned to `core` where it can be.
fn this_as(role: &str, core: usize, args: &[&str]) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = if taskset() {
        let mut c = Command::new("taskset");
        c.args(["-c", &core.to_string()]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    command.env(ROLE, role).args(args).stdout(Stdio::piped());
    command
}

/// A server process on core 1 (`args` say which), and the address it printed.
pub fn start_server(args: &[&str]) -> (Child, String) {
    let mut child = this_as("server", 1, args).spawn().unwrap();
    let mut addr = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut addr)
        .unwrap();
    (child, addr.trim().to_string())
}

/// What one client process measured, with the server's CPU over the same time.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub messages: u64,
    pub seconds: f64,
    pub client_cpu: f64,
    pub server_cpu: f64,
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }

    /// Microseconds of `cpu` seconds per message.
    pub fn per_message(&self, cpu: f64) -> f64 {
        cpu * 1e6 / self.messages as f64
    }
}

/// One client process on core 0, run with `args`, then the server's address and `seconds`.
pub fn run_client(args: &[&str], server: &(Child, String), seconds: f64) -> Run {
    let before = process_cpu(server.0.id());
    let mut all = args.to_vec();
    let seconds = seconds.to_string();
    all.extend([server.1.as_str(), seconds.as_str()]);
    let out = this_as("client", 0, &all).output().unwrap();
    let server_cpu = process_cpu(server.0.id()) - before;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(fields.len(), 3, "{args:?}: {text}");
    Run {
        messages: fields[0] as u64,
        seconds: fields[1],
        client_cpu: fields[2],
        server_cpu,
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of `value` over the runs of `a` and of `b`, round by round, and the range of
/// the per-round ratios a / b.
pub fn compare(rounds: &[(Run, Run)], value: &dyn Fn(&Run) -> f64) -> (f64, f64, f64, f64) {
    let a = median(rounds.iter().map(|(a, _)| value(a)).collect());
    let b = median(rounds.iter().map(|(_, b)| value(b)).collect());
    let (lo, hi) = rounds
        .iter()
        .map(|(x, y)| value(x) / value(y))
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r), hi.max(r)));
    (a, b, lo, hi)
}

/// Runs the role this process was started in, if any: true if it did, or if there is
/// nothing to run (`cargo bench -- --list`, `cargo test --benches`: nothing to list).
pub fn run_role(serve: impl FnOnce(&[String]), client: impl FnOnce(&[String])) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match std::env::var(ROLE).as_deref() {
        Ok("server") => serve(&args),
        Ok("client") => client(&args),
        _ if args.iter().any(|a| a == "--list") => {}
        _ => return false,
    }
    true
}

/// A server role's part once its server runs: prints `addr` for the bench and serves on
/// until the bench kills it.
pub fn serve_until_killed(addr: impl std::fmt::Display) -> ! {
    println!("{addr}");
    loop {
        std::thread::park();
    }
}

/// The seconds of one round (`STREAMPOD_PEER_ROUND_SECS`, default 4), after saying so when
/// the processes cannot be pinned.
pub fn round_seconds() -> f64 {
    if !taskset() {
        println!("(no taskset: the servers and the clients share the cores)");
    }
    std::env::var("STREAMPOD_PEER_ROUND_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0)
}
