//! What the bench helpers share: the CPU of this process per operation, measured while a few
//! threads repeat it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// This process's CPU time so far (user + system), from `/proc/self/stat`: other load on the
/// machine does not count.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // After the command: utime is field 14, stime 15 (1-based) → indexes 11, 12.
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

/// Runs `threads` threads for `seconds`, each repeating the operation `setup` makes for it (on
/// that thread, before the clock starts). Returns the process's CPU per operation in ms and
/// the operations per second.
pub fn cpu_per_operation<F: FnMut()>(seconds: f64, threads: usize, setup: impl Fn() -> F + Sync) -> (f64, f64) {
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(threads + 1);
    let (cpu, wall) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut operation = setup();
                    ready.wait();
                    while !stop.load(Ordering::Relaxed) {
                        operation();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        ready.wait();
        let (cpu_start, start) = (cpu_seconds(), Instant::now());
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.join().expect("a measuring thread panicked");
        }
        (cpu_seconds() - cpu_start, start.elapsed().as_secs_f64())
    });
    let n = done.load(Ordering::Relaxed).max(1) as f64;
    (cpu / n * 1000.0, n / wall)
}
