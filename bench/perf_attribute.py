#!/usr/bin/env python3
"""Attributes the samples of a `perf record --call-graph dwarf` profile of the server to the
parts of a request (docs/performance.md, "Where a request's CPU goes").

    perf script -i perf.data -F comm,tid,ip,sym --no-inline | bench/perf_attribute.py [--top N]

Each sample goes to the first category (in the order below) one of whose markers appears in
any frame of its stack, so a category counts everything under it (inclusive), and the more
specific categories come first. The layers that wrap everything else (WRAPPERS: the handlers
and middleware, actix's routing, actix-http, the kernel) are decided by the innermost frame
that names one of them instead: a sample in the router, which the middleware calls, is
routing. Prints the share of each category, and with --top the hottest leaf functions of each.
"""
import re
import sys
from collections import Counter, defaultdict

# (category, markers): a marker is a substring of a frame's symbol.
CATEGORIES = [
    ("signing (RSA/ECDSA)", ["SigningKey>::sign", "SigningKey::sign", "EVP_DigestSign", "EVP_PKEY_sign", "RSA_sign",
                              "ring::ec::suite_b::ecdsa::signing", "rsa_ossl_private_encrypt"]),
    ("JWT verification", ["jsonwebtoken::decoding", "decode_access", "ring::rsa::verification",
                          "ring::ec::suite_b::ecdsa::verification"]),
    ("argon2", ["argon2::"]),
    ("request log line (env_logger)", ["env_logger", "log::__private_api"]),
    ("metrics (prometheus)", ["prometheus::", "Metrics::observe_request"]),
    ("audit of the request (middleware, summaries)", ["audit_log::summaries", "AuditLog>::read", "AuditLog>::record",
                                                      "AuditLog::read", "AuditLog::record", "touch_client"]),
    ("credential check: query", ["db::clients::credential"]),
    ("credential check: cache, hashes", ["VerifiedSecrets", "CredentialKey"]),
    ("credential check: token standing query", ["bearer::standing", "db::oauth::is_revoked"]),
    ("credential check: rest (grants, caller)", ["domain::authn::client_secret", "bearer::authenticate",
                                                 "Caller>::client", "Caller::client", "grant::effective"]),
    ("write transaction (token endpoint)", ["db::transaction", "write_blocking", "db::audit::append"]),
    ("handler queries", ["gatehouse::db::", "diesel::"]),
    ("pool checkout/return (r2d2)", ["r2d2::"]),
    ("SQLite outside diesel", ["sqlite3"]),
    ("blocking-thread handoff (spawn_blocking, wakeups)", ["tokio::runtime::blocking", "spawn_blocking",
                                                           "tokio::runtime::task::waker", "Condvar",
                                                           "Semaphore", "batch_semaphore"]),
    ("JSON (serde_json)", ["serde_json::"]),
]

# Decided by the innermost frame that names one of them (see above).
WRAPPERS = [
    ("handler and extractors", ["gatehouse::http::", "gatehouse::oauth::", "gatehouse::shell::",
                                "gatehouse::domain::"]),
    ("actix routing and service stack", ["actix_web::"]),
    ("HTTP parsing and writing (actix-http)", ["actix_http::"]),
    ("network syscalls (kernel)", ["tcp_", "sock_", "__sys_sendto", "__sys_recvfrom", "ksys_read", "ksys_write",
                                   "do_writev", "sys_recv", "sys_send"]),
    ("futex, scheduling (kernel)", ["futex", "schedule", "finish_task_switch", "sched_yield", "epoll"]),
]


def samples(lines):
    comm, frames = None, []
    for line in lines:
        if not line.strip():
            if comm is not None:
                yield comm, frames
            comm, frames = None, []
        elif line[0] in " \t":
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "?")
        else:
            comm = line.split()[0]
    if comm is not None:
        yield comm, frames


def main():
    top = 0
    if "--top" in sys.argv:
        top = int(sys.argv[sys.argv.index("--top") + 1])
    counts, leaves, total = Counter(), defaultdict(Counter), 0
    threads = Counter()
    for comm, frames in samples(sys.stdin):
        total += 1
        threads[comm] += 1
        category = "other"
        if comm == "audit-writer":
            category = "audit writer thread (group commit)"
        for name, markers in ([] if category != "other" else CATEGORIES):
            if any(m in f for f in frames for m in markers):
                category = name
                break
        if category == "other":
            category = next((name for f in frames for name, markers in WRAPPERS if any(m in f for m in markers)),
                            "other")
        if category == "other" and frames and frames[0].startswith(("mi_", "_mi_", "malloc", "_int_", "cfree")):
            category = "allocation outside the above"
        counts[category] += 1
        leaf = re.sub(r"<.*>", "<…>", frames[0])[:90] if frames else "?"
        leaves[category][leaf] += 1
    print(f"{total} samples; threads: " + ", ".join(f"{c} {n / total:.0%}" for c, n in threads.most_common()))
    for category, n in counts.most_common():
        print(f"{n / total:6.1%}  {category}")
        for leaf, m in leaves[category].most_common(top):
            print(f"          {m / total:6.1%}  {leaf}")


if __name__ == "__main__":
    main()
