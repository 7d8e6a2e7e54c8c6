//! A [`Unit`](super::Unit) of independent statements sent to PostgreSQL as one statement (issue
//! 17 §2). As a transaction the unit costs a round trip per statement plus `BEGIN` and `COMMIT`;
//! a counter's check (three statements) was five round trips of the ten its request made. As
//! one statement it is one:
//!
//! ```sql
//! WITH ecert_s0 AS (UPDATE counter … RETURNING 1), ecert_s1 AS (UPDATE presentation … RETURNING 1), …
//! SELECT ecert_unit_changed(ARRAY[(SELECT count(*) FROM ecert_s0), …], ARRAY[true, …])
//! ```
//!
//! One statement is atomic of itself. `ecert_unit_changed` (migration 0035) raises
//! [`STOPPED`] naming the first statement marked `must_change` that changed no row, which undoes
//! the whole statement, as the transaction undoes a unit that stops. What differs: all the
//! statements see the database as it was when the unit began, so none of them may read or change
//! a row another one writes ([`Unit::independent`](super::Unit::independent)).

use super::{Query, Statement, Value};

/// The SQLSTATE `ecert_unit_changed` raises when a `must_change` statement changed nothing.
pub(super) const STOPPED: &str = "EC001";

/// The unit as one statement and its values, or `None` when it is empty or a statement is not
/// a plain `INSERT`, `UPDATE` or `DELETE` of its own (one with `RETURNING`, several statements,
/// a dollar-quoted string, a comment, a backslash in a literal, or a `$n` past its values), or
/// when two statements write the same table (a row changed twice in one statement keeps only
/// one change): the caller then runs the unit as a transaction.
pub(super) fn one_statement(statements: &[Statement]) -> Option<(String, Vec<Value>)> {
    let writes = Writes::of(statements, 0)?;
    Some((format!("WITH {} SELECT {}", writes.ctes, writes.check), writes.values))
}

/// A read of at most one row and a unit that depends on it, as one statement (issue 17 §2): the
/// read becomes the CTE `ecert_read`, which the unit's statements may name (`(SELECT id FROM
/// ecert_read)`, `INSERT … SELECT … FROM ecert_read`). The statement answers the read's row,
/// after `ecert_unit_changed` has checked the unit, or no row when the read found none: then
/// nothing is checked, so each statement must change nothing without the read's row.
///
/// With a `gate`, the read's boolean column of that name, the unit is checked only when the
/// row's gate is true, so each statement must change nothing unless it is (`… FROM ecert_read
/// WHERE <gate>`); the row is answered either way.
///
/// `None` as [`one_statement`], or when `read` is not a plain `SELECT` of its own, or `gate` is
/// not a plain lower-case name.
pub(super) fn read_then_unit(
    read: &Query,
    gate: Option<&str>,
    statements: &[Statement],
) -> Option<(String, Vec<Value>)> {
    if gate.is_some_and(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')) {
        return None;
    }
    let text = read.text(super::Backend::Postgres);
    let text = text.trim();
    if !text.get(..7).is_some_and(|word| word.eq_ignore_ascii_case("select ")) {
        return None;
    }
    let mut sql = String::from("WITH ecert_read AS (");
    renumber(text, 0, read.values().len(), &mut sql)?;
    let writes = Writes::of(statements, read.values().len())?;
    let check = match gate {
        Some(gate) => format!("CASE WHEN ecert_read.{gate} THEN {} END", writes.check),
        None => writes.check,
    };
    sql.push_str(&format!("), {} SELECT ecert_read.*, {check} AS ecert_changed FROM ecert_read", writes.ctes));
    let mut values = read.values().to_vec();
    values.extend(writes.values);
    Some((sql, values))
}

/// A unit's statements as the CTEs `ecert_s0`, `ecert_s1`, … and the call that checks them.
struct Writes {
    ctes: String,
    /// The statements' values, to follow the `offset` values before them.
    values: Vec<Value>,
    check: String,
}

impl Writes {
    /// `None` when the unit may not be one statement ([`one_statement`]); placeholders start
    /// after `offset`.
    fn of(statements: &[Statement], offset: usize) -> Option<Writes> {
        if statements.is_empty() {
            return None;
        }
        let mut ctes = String::new();
        let mut values = Vec::new();
        let mut tables = Vec::with_capacity(statements.len());
        for (index, statement) in statements.iter().enumerate() {
            let text = statement.query.text(super::Backend::Postgres);
            let text = text.trim();
            let table = written_table(text)?;
            if tables.contains(&table) || text.to_ascii_uppercase().contains("RETURNING") {
                return None;
            }
            tables.push(table);
            if index > 0 {
                ctes.push_str(", ");
            }
            ctes.push_str(&format!("ecert_s{index} AS ("));
            renumber(text, offset + values.len(), statement.query.values().len(), &mut ctes)?;
            ctes.push_str(" RETURNING 1)");
            values.extend_from_slice(statement.query.values());
        }
        let counts: Vec<String> = (0..statements.len()).map(|i| format!("(SELECT count(*) FROM ecert_s{i})")).collect();
        let must: Vec<&str> = statements.iter().map(|s| if s.must_change { "true" } else { "false" }).collect();
        let check = format!("ecert_unit_changed(ARRAY[{}], ARRAY[{}])", counts.join(", "), must.join(", "));
        Some(Writes { ctes, values, check })
    }
}

/// The table a plain `INSERT INTO t`, `UPDATE t` or `DELETE FROM t` writes, in lower case.
fn written_table(text: &str) -> Option<String> {
    let words: Vec<String> = text.split_whitespace().take(3).map(str::to_ascii_lowercase).collect();
    let table = match words.as_slice() {
        [verb, table, ..] if verb == "update" => table,
        [verb, into, table] if verb == "insert" && into == "into" => table,
        [verb, from, table] if verb == "delete" && from == "from" => table,
        _ => return None,
    };
    table.split('(').next().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Appends `sql` to `out` with each `$n` shifted by `offset`; `None` when a `$n` is not one of
/// the statement's `bound` values, or the text holds what this scan does not read (a
/// dollar-quoted string, a comment, a second statement).
fn renumber(sql: &str, offset: usize, bound: usize, out: &mut String) -> Option<()> {
    let mut rest = sql;
    while let Some(at) = rest.find(['\'', '"', '$', ';', '-', '/']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let mark = tail.as_bytes()[0];
        match mark {
            b'\'' | b'"' => {
                // A literal or a quoted name, copied whole; a doubled quote inside reads as two.
                // A backslash may escape a quote (`E'…'`): not read here.
                let end = tail[1..].find(mark as char)? + 2;
                if tail[..end].contains('\\') {
                    return None;
                }
                out.push_str(&tail[..end]);
                rest = &tail[end..];
            }
            b'$' if out.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') => {
                // Part of a name (`a$1`), not a placeholder.
                out.push('$');
                rest = &tail[1..];
            }
            b'$' => {
                let digits = tail[1..].bytes().take_while(u8::is_ascii_digit).count();
                let n: usize = tail[1..1 + digits].parse().ok()?;
                if n == 0 || n > bound {
                    return None;
                }
                out.push_str(&format!("${}", n + offset));
                rest = &tail[1 + digits..];
            }
            b'-' | b'/' if tail[1..].starts_with(['-', '*']) => return None,
            b';' => return None,
            _ => {
                out.push(mark as char);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Some(())
}

/// The index of the statement that stopped the unit, when `error` is `ecert_unit_changed`'s.
pub(super) fn stopped_at(error: &sqlx::Error) -> Option<usize> {
    let sqlx::Error::Database(e) = error else { return None };
    if e.code().as_deref() != Some(STOPPED) {
        return None;
    }
    e.message().rsplit(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::query;

    #[test]
    fn placeholders_are_shifted_past_the_statements_before_and_literals_are_left_alone() {
        let first = query("UPDATE counter SET n = n WHERE id = $1 AND status = 'a$1' AND x$1 < $2").bind(1).bind(2);
        let second = query("INSERT INTO r (a, b, c) SELECT $1, $2, 'it''s $2' WHERE $1 <> \"$3\"").bind(3).bind(4);
        let (sql, values) = one_statement(&[first.must_change(), second.into()]).unwrap();
        assert_eq!(
            sql,
            "WITH ecert_s0 AS (UPDATE counter SET n = n WHERE id = $1 AND status = 'a$1' AND x$1 < $2 RETURNING 1), \
             ecert_s1 AS (INSERT INTO r (a, b, c) SELECT $3, $4, 'it''s $2' WHERE $3 <> \"$3\" RETURNING 1) \
             SELECT ecert_unit_changed(ARRAY[(SELECT count(*) FROM ecert_s0), (SELECT count(*) FROM ecert_s1)], ARRAY[true, false])"
        );
        assert_eq!(values, vec![Value::Int(Some(1)), Value::Int(Some(2)), Value::Int(Some(3)), Value::Int(Some(4))]);
    }

    #[test]
    fn a_read_and_its_unit_are_one_statement_that_answers_the_read_row_once_checked() {
        let read = query("SELECT id, n FROM t WHERE key = $1 AND at > $2").bind("k").bind(5);
        let mark = query("UPDATE t SET used = $1 WHERE id = (SELECT id FROM ecert_read)").bind(6).must_change();
        let record = query("INSERT INTO r (id, t_id) SELECT $1, id FROM ecert_read").bind("r1");
        let (sql, values) = read_then_unit(&read, None, &[mark, record.into()]).unwrap();
        assert_eq!(
            sql,
            "WITH ecert_read AS (SELECT id, n FROM t WHERE key = $1 AND at > $2), \
             ecert_s0 AS (UPDATE t SET used = $3 WHERE id = (SELECT id FROM ecert_read) RETURNING 1), \
             ecert_s1 AS (INSERT INTO r (id, t_id) SELECT $4, id FROM ecert_read RETURNING 1) \
             SELECT ecert_read.*, ecert_unit_changed(ARRAY[(SELECT count(*) FROM ecert_s0), (SELECT count(*) FROM ecert_s1)], \
             ARRAY[true, false]) AS ecert_changed FROM ecert_read"
        );
        assert_eq!(values.len(), 4);
        assert_eq!((&values[1], &values[2]), (&Value::Int(Some(5)), &Value::Int(Some(6))));
        let write = query("UPDATE t SET n = 1").into();
        assert!(
            read_then_unit(&query("UPDATE t SET n = 2"), None, std::slice::from_ref(&write)).is_none(),
            "a read only"
        );
        assert!(read_then_unit(&query("SELECT 1; DELETE FROM t"), None, &[write]).is_none(), "one statement only");
        assert!(read_then_unit(&read, None, &[]).is_none(), "a unit to follow");
    }

    #[test]
    fn a_gated_unit_is_checked_only_when_the_read_row_opens_its_gate() {
        let read = query("SELECT id, n, n > $1 AS go FROM t").bind(1);
        let mark =
            query("UPDATE t SET used = $1 WHERE id = (SELECT id FROM ecert_read WHERE go)").bind(2).must_change();
        let (sql, values) = read_then_unit(&read, Some("go"), std::slice::from_ref(&mark)).unwrap();
        assert_eq!(
            sql,
            "WITH ecert_read AS (SELECT id, n, n > $1 AS go FROM t), \
             ecert_s0 AS (UPDATE t SET used = $2 WHERE id = (SELECT id FROM ecert_read WHERE go) RETURNING 1) \
             SELECT ecert_read.*, CASE WHEN ecert_read.go THEN ecert_unit_changed(ARRAY[(SELECT count(*) FROM ecert_s0)], \
             ARRAY[true]) END AS ecert_changed FROM ecert_read"
        );
        assert_eq!(values.len(), 2);
        for gate in ["", "go OR true", "Go", "go;"] {
            assert!(
                read_then_unit(&read, Some(gate), std::slice::from_ref(&mark)).is_none(),
                "{gate:?}: a column's name only"
            );
        }
    }

    #[test]
    fn what_the_scan_cannot_read_is_left_to_a_transaction() {
        let refused = [
            query("SELECT 1"),
            query("UPDATE t SET a = 1 RETURNING id"),
            query("UPDATE t SET a = 1; DELETE FROM t"),
            query("UPDATE t SET a = $$x$$"),
            query("UPDATE t SET a = 1 -- note"),
            query("UPDATE t SET a = $2").bind(1),
            query("UPDATE t SET a = $0").bind(1),
            query("UPDATE t SET a = 'open"),
            query("UPDATE t SET a = E'\\'' WHERE b = $1").bind(1),
            query("INSERT t VALUES (1)"),
        ];
        for q in refused {
            let text = q.text(crate::store::Backend::Postgres).into_owned();
            assert!(one_statement(&[q.into()]).is_none(), "{text}");
        }
        let arithmetic = query("UPDATE t SET a = a - 1, b = b / 2 WHERE id = $1").bind(1);
        assert!(one_statement(&[arithmetic.into()]).is_some(), "a minus or a slash alone is no comment");
        assert!(one_statement(&[]).is_none(), "an empty unit");
        let twice = || query("UPDATE Counter SET a = 1 WHERE id = $1").bind(1).into();
        let other = query("update counter set a = 2 where id = $1").bind(1).into();
        assert!(one_statement(&[twice(), other]).is_none(), "one table written twice");
        let insert = query("INSERT INTO counter(a) VALUES ($1)").bind(1).into();
        assert!(one_statement(&[twice(), insert]).is_none(), "one table written twice, once by an insert");
    }
}
