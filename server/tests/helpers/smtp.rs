//! A small SMTP server on the loopback interface for the tests: it speaks enough of RFC 5321
//! for a real client (lettre) to hand it messages, keeps what it accepted, and can be stopped,
//! started again on the same port, or told to hang in the middle of a message.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A message the server accepted (its `DATA` ended and it said 250).
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The value of a header (the first of its name), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_lowercase());
        self.data
            .split("\r\n\r\n")
            .next()?
            .split("\r\n")
            .find(|l| l.to_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }

    /// The body as text (quoted-printable or base64 undone, as lettre may encode it).
    pub fn text(&self) -> String {
        let (head, body) = self.data.split_once("\r\n\r\n").unwrap_or(("", ""));
        let head = head.to_lowercase();
        let body = body.trim_end_matches("\r\n.\r\n");
        if head.contains("content-transfer-encoding: base64") {
            use base64::Engine;
            let joined: String = body.split("\r\n").collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(joined.trim())
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        } else if head.contains("content-transfer-encoding: quoted-printable") {
            let soft = body.replace("=\r\n", "");
            let bytes = soft.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                let hex = (bytes[i] == b'=' && i + 2 < bytes.len())
                    .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
                    .flatten()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        } else {
            body.to_string()
        }
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Hang after `DATA`'s 354: the client waits for an answer that never comes.
    hang: bool,
    /// Messages whose `DATA` began (accepted or not).
    begun: usize,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SmtpSink {
    /// A server on a free loopback port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let task = Some(tokio::spawn(serve(listener, shared.clone())));
        SmtpSink { addr, shared, task }
    }

    /// `smtp://127.0.0.1:PORT`, plain (no TLS on the loopback).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Stops listening (and drops open connections): the mail server is down.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port, keeping what was received.
    pub async fn resume(&mut self) {
        self.stop();
        let listener = TcpListener::bind(self.addr).await.expect("bind again");
        self.task = Some(tokio::spawn(serve(listener, self.shared.clone())));
    }

    pub fn hang(&self, hang: bool) {
        self.shared.lock().unwrap().hang = hang;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    pub fn begun(&self) -> usize {
        self.shared.lock().unwrap().begun
    }

    /// Waits (real time, at most 15 s) until `pred` holds of what was received.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        super::wait_until(what, || self.received(), |got| pred(got)).await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        connections.spawn(session(stream, shared.clone()));
    }
}

async fn session(stream: tokio::net::TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut to = Vec::new();
    let say = |text: &'static str| text.as_bytes();
    if write
        .write_all(say("220 sink.test ESMTP\r\n"))
        .await
        .is_err()
    {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            say("250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
        } else if command.starts_with("HELO")
            || command.starts_with("MAIL FROM")
            || command.starts_with("RSET")
            || command.starts_with("NOOP")
        {
            say("250 OK\r\n")
        } else if command.starts_with("RCPT TO") {
            to.push(
                line.trim_end()[8..]
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_string(),
            );
            say("250 OK\r\n")
        } else if command == "DATA" {
            let hang = {
                let mut s = shared.lock().unwrap();
                s.begun += 1;
                s.hang
            };
            if write.write_all(say("354 go ahead\r\n")).await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
            }
            if hang {
                // The client waits for the 250 that never comes (until it gives up or dies).
                std::future::pending::<()>().await;
            }
            shared.lock().unwrap().received.push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            say("250 accepted\r\n")
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(say("221 bye\r\n")).await;
            return;
        } else {
            say("502 not here\r\n")
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
