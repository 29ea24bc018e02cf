//! The CPU cost of one token signature, the way the server signs (`SigningKey::sign`: one
//! key shared by every thread, a JWT header and access-token-sized claims):
//! `signcost [seconds] [threads]`. Prints one line per algorithm, `ALG ms_cpu_per_signature
//! signatures_per_second`, CPU read from the process's own `getrusage`, so other load on the
//! machine does not count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::domain::signing_keys::{jwt_algorithm, SigningKey};
use gatehouse_api_types::{KeyState, SigningAlg};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based) → indexes 11, 12.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let threads: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let key = Arc::new(SigningKey::generate(alg, KeyState::Current).expect("key"));
        let mut header = jsonwebtoken::Header::new(jwt_algorithm(alg));
        header.kid = Some(key.kid.clone());
        header.typ = Some("at+jwt".into());
        let claims = serde_json::json!({
            "iss": "http://127.0.0.1:8080",
            "sub": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "aud": "http://127.0.0.1:8080",
            "client_id": "gh_0123456789abcdef0123456789abcdef",
            "scope": "namespaces:read@*",
            "iat": 1_800_000_000u64,
            "exp": 1_800_003_600u64,
            "jti": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
        });
        key.sign(&header, &claims).expect("sign"); // warm up
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (cpu_start, start) = (cpu_seconds(), Instant::now());
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (key, header, claims, done, stop) =
                    (key.clone(), header.clone(), claims.clone(), done.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::black_box(key.sign(&header, &claims).expect("sign"));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
        let (cpu, wall) = (cpu_seconds() - cpu_start, start.elapsed().as_secs_f64());
        let n = done.load(Ordering::Relaxed).max(1) as f64;
        println!("{alg} {:.4} {:.0}", cpu / n * 1000.0, n / wall);
    }
}
