//! Statements kept prepared although diesel would prepare them on every call.
//!
//! diesel keeps a connection's statements prepared, keyed by their SQL, unless a statement
//! says it is unsafe to: every `UPDATE` of its DSL does (a changeset of optional fields may
//! produce another SQL text on each call), and so does `sql_query`. Preparing an `UPDATE` on
//! SQLite costs about as much as running it (parsing, planning, code generation): ~0.01–0.02
//! ms, paid by every grant that spends a refresh token or appends to the audit chain.
//!
//! [`Fixed`] is a statement whose SQL text never changes, with its bind values: diesel
//! prepares it once per connection, keyed by that text. It is for the few hot statements the
//! DSL will not keep prepared; everything else stays in the DSL. The text is plain SQL that
//! both databases read the same way, `?` standing for each bind value (numbered `$1`, `$2`…
//! on PostgreSQL). Run it on the concrete connection (`native!`): the MultiConnection asks
//! each statement again whether it may be cached, through a reference, and gets diesel's
//! default answer.
//!
//! [`FixedRows`] is the same for a statement that answers rows of a given SQL type: an
//! `UPDATE … RETURNING`, which takes a row and reads it in one statement (one round trip on
//! PostgreSQL where an `UPDATE` and a `SELECT` take two).

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::{QueryResult, RunQueryDsl};

/// A statement of fixed text that answers no rows, with its bind values.
pub struct Fixed<B> {
    sql: &'static str,
    binds: B,
}

/// `sql` with `binds` (see [`Binds`]), one per `?` in order.
pub fn fixed<B>(sql: &'static str, binds: B) -> Fixed<B> {
    Fixed { sql, binds }
}

/// A bind value of SQL type `ST`.
pub struct Bind<ST, U>(U, PhantomData<ST>);

pub fn bind<ST, U>(value: U) -> Bind<ST, U> {
    Bind(value, PhantomData)
}

/// The bind values of a statement, pushed by their position: a [`Bind`], `()`, or a pair of
/// them (nested pairs for more: `(a, (b, c))`).
pub trait Binds<DB: Backend> {
    /// How many values.
    fn count(&self) -> usize;
    fn push<'b>(&'b self, position: usize, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

impl<DB, ST, U> Binds<DB> for Bind<ST, U>
where
    DB: Backend + HasSqlType<ST>,
    U: ToSql<ST, DB>,
{
    fn count(&self) -> usize {
        1
    }

    fn push<'b>(&'b self, position: usize, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        match position {
            0 => out.push_bind_param::<ST, U>(&self.0),
            _ => Err(too_few_binds()),
        }
    }
}

/// No bind values: a statement without placeholders.
impl<DB: Backend> Binds<DB> for () {
    fn count(&self) -> usize {
        0
    }

    fn push<'b>(&'b self, _position: usize, _out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        Err(too_few_binds())
    }
}

impl<DB: Backend, A: Binds<DB>, B: Binds<DB>> Binds<DB> for (A, B) {
    fn count(&self) -> usize {
        self.0.count() + self.1.count()
    }

    fn push<'b>(&'b self, position: usize, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let first = self.0.count();
        if position < first {
            self.0.push(position, out)
        } else {
            self.1.push(position - first, out)
        }
    }
}

fn too_few_binds() -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError("a fixed statement has more placeholders than bind values".into())
}

impl<DB: Backend, B: Binds<DB>> QueryFragment<DB> for Fixed<B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        for (position, part) in parts.enumerate() {
            self.binds.push(position, &mut out)?;
            out.push_sql(part);
        }
        Ok(())
    }
}

impl<B> QueryId for Fixed<B> {
    type QueryId = ();
    // Keyed by its text, never by its type: the text says what was prepared.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B, C> RunQueryDsl<C> for Fixed<B> {}

/// A statement of fixed text that answers rows of SQL type `ST`, with its bind values.
pub struct FixedRows<B, ST> {
    statement: Fixed<B>,
    rows: PhantomData<ST>,
}

/// `sql` answering rows of SQL type `ST`, with `binds` as for [`fixed`].
pub fn fixed_rows<ST, B>(sql: &'static str, binds: B) -> FixedRows<B, ST> {
    FixedRows { statement: fixed(sql, binds), rows: PhantomData }
}

impl<DB: Backend, B: Binds<DB>, ST> QueryFragment<DB> for FixedRows<B, ST> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.statement.walk_ast(out)
    }
}

impl<B, ST> QueryId for FixedRows<B, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B, ST: diesel::sql_types::SqlType> Query for FixedRows<B, ST> {
    type SqlType = ST;
}

impl<B, ST, C> RunQueryDsl<C> for FixedRows<B, ST> {}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::{BigInt, Nullable, Text};
    use diesel::sqlite::Sqlite;
    use diesel::{Connection, SqliteConnection};

    use super::*;

    /// A fixed statement binds its values in order; a missing one is an error; it tells diesel
    /// it may be kept prepared, also when asked through a reference (as diesel's connections ask).
    #[test]
    fn a_fixed_statement_binds_in_order_and_may_be_kept_prepared() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL, s TEXT NOT NULL); INSERT INTO t VALUES (1, 5, 'a')")
            .unwrap();
        let update = || {
            fixed("UPDATE t SET n = n + ?, s = s || ? WHERE id = 1", (bind::<BigInt, _>(2_i64), bind::<Text, _>("b")))
        };
        assert_eq!(update().execute(&mut conn).unwrap(), 1);
        assert_eq!(update().execute(&mut conn).unwrap(), 1);
        let row: (i64, String) =
            diesel::sql_query("SELECT n, s FROM t").get_result::<Row>(&mut conn).map(|r| (r.n, r.s)).unwrap();
        assert_eq!(row, (9, "abb".to_owned()));
        let short = fixed("UPDATE t SET n = ? WHERE id = ?", bind::<BigInt, _>(1_i64));
        assert!(short.execute(&mut conn).is_err(), "a missing bind value is an error, not a NULL");
        let by_reference = &update();
        assert!(QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&by_reference, &Sqlite).unwrap());
        let nested = fixed(
            "UPDATE t SET n = ?, s = ? || ? WHERE id = ?",
            (bind::<BigInt, _>(1_i64), ((bind::<Text, _>("x"), bind::<Text, _>("y")), bind::<BigInt, _>(1_i64))),
        );
        assert_eq!(nested.execute(&mut conn).unwrap(), 1, "nested pairs bind in order");
        let row: (i64, String) =
            diesel::sql_query("SELECT n, s FROM t").get_result::<Row>(&mut conn).map(|r| (r.n, r.s)).unwrap();
        assert_eq!(row, (1, "xy".to_owned()));
    }

    /// A fixed statement that answers rows reads them back, typed, and may be kept prepared.
    #[test]
    fn a_fixed_statement_answers_its_rows() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL, s TEXT NOT NULL); INSERT INTO t VALUES (1, 5, 'a')")
            .unwrap();
        let take = |by: i64| {
            fixed_rows::<(BigInt, Text, Nullable<BigInt>), _>(
                "UPDATE t SET n = n + ? WHERE id = 1 RETURNING n, s, (SELECT id FROM t AS o WHERE o.n = t.n - ?)",
                (bind::<BigInt, _>(by), bind::<BigInt, _>(by)),
            )
        };
        assert_eq!(take(2).get_result::<(i64, String, Option<i64>)>(&mut conn).unwrap(), (7, "a".to_owned(), None));
        assert_eq!(take(0).get_result::<(i64, String, Option<i64>)>(&mut conn).unwrap(), (7, "a".to_owned(), Some(1)));
        let by_reference = &take(1);
        assert!(QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&by_reference, &Sqlite).unwrap());
    }

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Text)]
        s: String,
    }
}
