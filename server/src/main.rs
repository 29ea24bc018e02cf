// mimalloc: per-thread free lists suit a server whose requests allocate and free small
// buffers on many threads (glibc's malloc measured ~10% of a token grant's CPU).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}
