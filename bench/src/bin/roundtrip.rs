//! The client-side CPU of one PostgreSQL round trip, the way the server makes them (diesel's
//! `PgConnection`, a cached prepared statement, a connection per thread):
//! `roundtrip <database url> [seconds] [threads]`. Prints `ms_cpu_per_round_trip
//! round_trips_per_second`, CPU of this process alone, so PostgreSQL's own CPU (and other load
//! on the machine) does not count. A read on PostgreSQL makes at least two round trips: the
//! credential epoch, then the handler's statement.

use diesel::prelude::*;
use diesel::sql_types::Integer;
use gatehouse_bench::cpu_per_operation;

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: roundtrip <database url> [seconds] [threads]");
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let (ms, per_second) = cpu_per_operation(seconds, threads, || {
        let mut conn = PgConnection::establish(&url).expect("connect");
        let query = diesel::select(1.into_sql::<Integer>());
        query.get_result::<i32>(&mut conn).expect("warm up");
        move || {
            std::hint::black_box(query.get_result::<i32>(&mut conn).expect("round trip"));
        }
    });
    println!("{ms:.4} {per_second:.0}");
}
