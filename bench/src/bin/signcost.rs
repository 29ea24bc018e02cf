//! The CPU cost of one token signature, the way the server signs (`SigningKey::sign`: one
//! key shared by every thread, a JWT header and access-token-sized claims):
//! `signcost [seconds] [threads]`. Prints one line per algorithm, `ALG ms_cpu_per_signature
//! signatures_per_second`, CPU of this process alone, so other load on the machine does not
//! count.

use gatehouse::domain::signing_keys::{jwt_algorithm, SigningKey};
use gatehouse_api_types::{KeyState, SigningAlg};
use gatehouse_bench::cpu_per_operation;

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let threads: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let key = SigningKey::generate(alg, KeyState::Current).expect("key");
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
        let (ms, per_second) = cpu_per_operation(seconds, threads, || {
            || {
                std::hint::black_box(key.sign(&header, &claims).expect("sign"));
            }
        });
        println!("{alg} {ms:.4} {per_second:.0}");
    }
}
