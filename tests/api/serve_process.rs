//! `bankscore serve` as a child process for tests of the binary itself: started with its
//! arguments and environment, its stderr read line by line on a thread (so it never blocks on a
//! full pipe), and killed if the test ends without stopping it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A running `bankscore serve` and the log lines it has written so far.
pub struct ServeProcess {
    child: Child,
    lines: Receiver<String>,
    /// Every line read so far.
    pub log: Vec<String>,
}

/// How long a test waits for the server to log something or to exit.
const PATIENCE: Duration = Duration::from_secs(30);

impl ServeProcess {
    /// Starts `bankscore <args>` (the arguments include `serve`) with `env` and `RUST_LOG=info`
    /// unless `env` sets it.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bankscore"));
        command.args(args).env("RUST_LOG", "info");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Starts `bankscore serve --no-auth` on 127.0.0.1:0 without model watching, serving
    /// `models`, with `extra` arguments after those and `env`.
    pub fn local(models: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let models = models.display().to_string();
        let mut args = vec![
            "serve",
            "--no-auth",
            "--listen",
            "127.0.0.1:0",
            "--watch-poll",
            "0s",
            "--models-dir",
            &models,
        ];
        args.extend_from_slice(extra);
        Self::start(&args, env)
    }

    /// Reads log lines until `found` picks something out of one; panics with the log so far if
    /// none does in time.
    pub fn wait_for<T>(&mut self, mut found: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!(
                    "serve did not log what the test waits for; its log:\n{}",
                    self.log.join("\n")
                );
            };
            let hit = found(&line);
            self.log.push(line);
            if let Some(t) = hit {
                return t;
            }
        }
    }

    /// The gRPC address from the "bankscore serving" line (text or JSON logs).
    pub fn address(&mut self) -> String {
        self.wait_for(|line| {
            if !line.contains("bankscore serving") {
                return None;
            }
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(event) => event["address"].as_str().map(str::to_owned),
                Err(_) => line
                    .split("address=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned),
            }
        })
    }

    /// Sends `signal` (e.g. `-TERM`, `-HUP`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the server to exit, then returns its status and the rest of its log.
    pub async fn exit(mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "serve did not exit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        (status, std::mem::take(&mut self.log))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
