//! Bulk import bodies (`POST …/users:import`): NDJSON lines or a JSON array, each row checked
//! on its own (fields, validation rules, PHC hashes). The first byte picks the format.
//! Properties: no panic; rows keep their input positions in order; every refused row says
//! why; an accepted row, written back out as one NDJSON line, is accepted again unchanged.
#![no_main]

use gatehouse::domain::import;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Equal, but for the last bit of a float: serde_json (without its `float_roundtrip` feature)
/// may read a printed float back one ulp off (found by this target, see docs/fuzzing.md).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= f64::EPSILON * 4.0 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&format, body)) = data.split_first() else { return };
    let ndjson = format & 1 == 0;
    let rows = match import::parse(body, ndjson) {
        Ok(rows) => rows,
        Err(e) => {
            assert!(!ndjson, "NDJSON fails per row, never as a whole (under the row limit): {e}");
            return;
        }
    };
    let positions = if ndjson { body.split(|b| *b == b'\n').count() } else { rows.len() };
    let mut previous = None;
    for parsed in &rows {
        assert!((parsed.index as usize) < positions);
        assert!(previous < Some(parsed.index), "indices increase");
        previous = Some(parsed.index);
        match &parsed.row {
            // (A field may be named "": an unknown member `""` is reported under its own name.)
            Err(errors) => assert!(!errors.is_empty() && errors.iter().all(|e| !e.message.is_empty())),
            Ok(row) => {
                assert!(!(row.password.is_some() && row.password_hash.is_some()));
                let line = serde_json::to_vec(row).expect("a row serializes");
                assert!(!line.contains(&b'\n'));
                let again = import::parse(&line, true).expect("one line");
                assert_eq!(again.len(), 1);
                let back = again[0]
                    .row
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{} was accepted, then refused: {e:?}", String::from_utf8_lossy(&line)));
                let (back_json, row_json) = (serde_json::to_value(back).unwrap(), serde_json::to_value(row).unwrap());
                assert!(same(&back_json, &row_json), "{back_json} != {row_json}");
                let _ = row.account();
            }
        }
    }
});
