//! Prometheus metrics: requests and latency per route and status, pool usage, hash timings.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::error::{Error, Result};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub hash_seconds: HistogramVec,
    pub audit_batch: Histogram,
    pub pool: IntGaugeVec,
    pub hash_queue: IntGauge,
    pub verified_secrets: IntGauge,
    pub signing_key_loads: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Metrics> {
        let registry = Registry::new_custom(Some("gatehouse".into()), None).map_err(Error::internal)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route and status"),
            &["method", "route", "status"],
        )
        .map_err(Error::internal)?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by method, route and status")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["method", "route", "status"],
        )
        .map_err(Error::internal)?;
        let hash_seconds = HistogramVec::new(
            HistogramOpts::new("password_hash_duration_seconds", "argon2 / bcrypt time per operation (hash or verify)")
                .buckets(vec![0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28]),
            &["op"],
        )
        .map_err(Error::internal)?;
        let audit_batch = Histogram::with_opts(
            HistogramOpts::new("audit_batch_events", "audit events committed together by the audit writer")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
        )
        .map_err(Error::internal)?;
        let pool = IntGaugeVec::new(Opts::new("db_pool_connections", "database pool connections by state"), &["state"])
            .map_err(Error::internal)?;
        let hash_queue =
            IntGauge::new("password_hash_queue", "password hashing jobs queued or running").map_err(Error::internal)?;
        let verified_secrets = IntGauge::new("verified_secrets_cached", "client credentials remembered as verified")
            .map_err(Error::internal)?;
        let signing_key_loads =
            IntGauge::new("signing_key_loads", "times this process read the signing keys from the database")
                .map_err(Error::internal)?;
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(hash_seconds.clone()),
            Box::new(audit_batch.clone()),
            Box::new(pool.clone()),
            Box::new(hash_queue.clone()),
            Box::new(verified_secrets.clone()),
            Box::new(signing_key_loads.clone()),
        ] {
            registry.register(collector).map_err(Error::internal)?;
        }
        Ok(Metrics {
            registry,
            requests,
            request_seconds,
            hash_seconds,
            audit_batch,
            pool,
            hash_queue,
            verified_secrets,
            signing_key_loads,
        })
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.request_seconds.with_label_values(&labels).observe(seconds);
    }

    pub fn render(&self) -> Result<String> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).map_err(Error::internal)?;
        String::from_utf8(out).map_err(Error::internal)
    }
}
