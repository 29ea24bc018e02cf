//! Real message receivers for the tests: an SMTP server (Python's aiosmtpd, storing a Maildir)
//! and an HTTP endpoint standing in for an SMS provider's webhook.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::eventually;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `python3 -m aiosmtpd` on a free port, delivering into a Maildir.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd)");
        let sink = SmtpSink { port, dir, child };
        assert!(
            eventually(Duration::from_secs(20), || TcpStream::connect(("127.0.0.1", port)).is_ok()),
            "aiosmtpd did not start"
        );
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let folder: PathBuf = self.dir.path().join("mail").join(sub);
            if let Ok(entries) = std::fs::read_dir(folder) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Waits for a message to `to` that carries a six-digit code; returns the code.
    pub fn code_for(&self, to: &str) -> String {
        let mut found = None;
        let arrived = eventually(Duration::from_secs(30), || {
            found = self.messages().iter().filter(|m| m.contains(to)).find_map(|m| code_in(m));
            found.is_some()
        });
        assert!(arrived, "no code mailed to {to}; received: {:?}", self.messages());
        found.unwrap()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one-time code of a message: six digits after "code is ".
pub fn code_in(text: &str) -> Option<String> {
    let at = text.find("code is ")? + "code is ".len();
    six_digits(&text[at..])
}

/// The first run of exactly six digits in `text`.
pub fn six_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let run = &bytes[i..i + 6];
        let before_ok = i == 0 || !bytes[i - 1].is_ascii_digit();
        let after_ok = i + 6 == bytes.len() || !bytes[i + 6].is_ascii_digit();
        (run.iter().all(u8::is_ascii_digit) && before_ok && after_ok).then(|| String::from_utf8_lossy(run).into_owned())
    })
}

/// An HTTP endpoint that records the JSON bodies POSTed to it (the SMS webhook).
pub struct WebhookSink {
    pub port: u16,
    pub bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl WebhookSink {
    pub fn start() -> WebhookSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let store = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve_one(stream, &store));
            }
        });
        WebhookSink { port, bodies }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/sms", self.port)
    }

    pub fn code_for(&self, to: &str) -> String {
        let mut found = None;
        let arrived = eventually(Duration::from_secs(30), || {
            found = self
                .bodies
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b["to"] == to)
                .find_map(|b| code_in(b["body"].as_str().unwrap_or_default()));
            found.is_some()
        });
        assert!(arrived, "no SMS to {to}");
        found.unwrap()
    }
}

fn serve_one(stream: TcpStream, store: &Mutex<Vec<serde_json::Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    if let Ok(json) = serde_json::from_slice(&body) {
        store.lock().unwrap().push(json);
    }
    let mut stream = stream;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
}
