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
//!
//! Composing scans every statement's text; the counter's check spent 7% of its app server's
//! CPU there (stop 52's profile), rebuilding the same statement on every check. [`Memo`] keeps
//! each composed text by its shape — the texts, their numbers of values, the `must_change`
//! marks and the gate — which is all the text depends on; the values are only appended. A text
//! is a pure function of its shape, so every app server may keep its own: there is nothing to
//! invalidate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use super::{Backend, Query, Statement, Value};

/// The SQLSTATE `ecert_unit_changed` raises when a `must_change` statement changed nothing.
pub(super) const STOPPED: &str = "EC001";

/// The unit as one statement and its values, or `None` when it is empty or a statement is not
/// a plain `INSERT`, `UPDATE` or `DELETE` of its own (one with `RETURNING`, several statements,
/// a dollar-quoted string, a comment, a backslash in a literal, or a `$n` past its values), or
/// when two statements write the same table (a row changed twice in one statement keeps only
/// one change): the caller then runs the unit as a transaction.
pub fn one_statement(statements: &[Statement]) -> Option<(String, Vec<Value>)> {
    Some((one_statement_text(statements)?, values_of(&[], statements)))
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
pub fn read_then_unit(read: &Query, gate: Option<&str>, statements: &[Statement]) -> Option<(String, Vec<Value>)> {
    Some((read_then_unit_text(read, gate, statements)?, values_of(read.values(), statements)))
}

fn one_statement_text(statements: &[Statement]) -> Option<String> {
    let writes = Writes::of(statements, 0)?;
    Some(format!("WITH {} SELECT {}", writes.ctes, writes.check))
}

fn read_then_unit_text(read: &Query, gate: Option<&str>, statements: &[Statement]) -> Option<String> {
    if gate.is_some_and(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')) {
        return None;
    }
    let text = read.text(Backend::Postgres);
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
    Some(sql)
}

/// The values of a composed statement: the read's, then each statement's in order.
fn values_of(read: &[Value], statements: &[Statement]) -> Vec<Value> {
    let mut values = Vec::with_capacity(read.len() + statements.iter().map(|s| s.query.values().len()).sum::<usize>());
    values.extend_from_slice(read);
    for statement in statements {
        values.extend_from_slice(statement.query.values());
    }
    values
}

/// Composed texts kept by their shape (see the module documentation): [`one_statement`] and
/// [`read_then_unit`] as they answer, the text shared instead of built again. At most
/// `capacity` shapes are kept; one more empties the memo first, so that texts built with
/// changing parts (none are today) would cost a rebuild now and then, never memory.
pub struct Memo {
    capacity: usize,
    /// By the hash of the shape; a list, as two shapes may share a hash.
    kept: Mutex<HashMap<u64, Vec<Composed>>>,
}

/// A shape and its text (`None`: it cannot be one statement).
struct Composed {
    shape: Shape,
    sql: Option<Arc<str>>,
}

/// What a composed text depends on, owned.
struct Shape {
    read: Option<(String, usize)>,
    gate: Option<String>,
    /// Each statement's text, number of values and `must_change`.
    statements: Vec<(String, usize, bool)>,
}

/// A shape as the caller holds it, borrowed.
struct Borrowed<'a> {
    read: Option<(&'a str, usize)>,
    gate: Option<&'a str>,
    statements: &'a [Statement],
    texts: Vec<Cow<'a, str>>,
}

impl Borrowed<'_> {
    /// A hash of each text's length and ends, the rest left to [`Borrowed::is`]: hashing whole
    /// texts (2.4 KB for the counter's check) cost more than comparing them.
    fn hash(&self) -> u64 {
        fn ends(text: &str, hasher: &mut DefaultHasher) {
            let bytes = text.as_bytes();
            (bytes.len(), &bytes[..bytes.len().min(32)], &bytes[bytes.len().saturating_sub(32)..]).hash(hasher);
        }
        // Fixed keys: the texts are the program's own, never a caller's input.
        let mut hasher = DefaultHasher::new();
        if let Some((text, values)) = self.read {
            ends(text, &mut hasher);
            values.hash(&mut hasher);
        }
        self.gate.hash(&mut hasher);
        for (statement, text) in self.statements.iter().zip(&self.texts) {
            ends(text, &mut hasher);
            (statement.query.values().len(), statement.must_change).hash(&mut hasher);
        }
        hasher.finish()
    }

    fn is(&self, shape: &Shape) -> bool {
        shape.read.as_ref().map(|(text, n)| (text.as_str(), *n)) == self.read
            && shape.gate.as_deref() == self.gate
            && shape.statements.len() == self.statements.len()
            && shape.statements.iter().zip(self.statements.iter().zip(&self.texts)).all(
                |((kept, n, must), (statement, text))| {
                    kept == text && *n == statement.query.values().len() && *must == statement.must_change
                },
            )
    }

    fn owned(&self) -> Shape {
        Shape {
            read: self.read.map(|(text, n)| (text.to_owned(), n)),
            gate: self.gate.map(str::to_owned),
            statements: self
                .statements
                .iter()
                .zip(&self.texts)
                .map(|(s, text)| (text.clone().into_owned(), s.query.values().len(), s.must_change))
                .collect(),
        }
    }
}

impl Memo {
    /// A memo of at most `capacity` shapes.
    pub fn new(capacity: usize) -> Memo {
        Memo { capacity, kept: Mutex::new(HashMap::new()) }
    }

    /// [`one_statement`], its text kept.
    pub fn one_statement(&self, statements: &[Statement]) -> Option<(Arc<str>, Vec<Value>)> {
        let sql = self.text(None, None, statements, || one_statement_text(statements))?;
        Some((sql, values_of(&[], statements)))
    }

    /// [`read_then_unit`], its text kept.
    pub fn read_then_unit(
        &self,
        read: &Query,
        gate: Option<&str>,
        statements: &[Statement],
    ) -> Option<(Arc<str>, Vec<Value>)> {
        let text = read.text(Backend::Postgres);
        let composed = || read_then_unit_text(read, gate, statements);
        let sql = self.text(Some((&text, read.values().len())), gate, statements, composed)?;
        Some((sql, values_of(read.values(), statements)))
    }

    /// The number of shapes kept.
    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }

    /// Whether no shape is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn text(
        &self,
        read: Option<(&str, usize)>,
        gate: Option<&str>,
        statements: &[Statement],
        compose: impl FnOnce() -> Option<String>,
    ) -> Option<Arc<str>> {
        let texts = statements.iter().map(|s| s.query.text(Backend::Postgres)).collect();
        let shape = Borrowed { read, gate, statements, texts };
        let hash = shape.hash();
        let found = |kept: &HashMap<u64, Vec<Composed>>| {
            kept.get(&hash).and_then(|list| list.iter().find(|c| shape.is(&c.shape))).map(|c| c.sql.clone())
        };
        if let Some(sql) = found(&self.kept.lock().unwrap_or_else(PoisonError::into_inner)) {
            return sql;
        }
        // Composed outside the lock; a caller that built the same shape meanwhile kept it first.
        let sql: Option<Arc<str>> = compose().map(Arc::from);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(first) = found(&kept) {
            return first;
        }
        if kept.values().map(Vec::len).sum::<usize>() >= self.capacity {
            kept.clear();
        }
        if self.capacity > 0 {
            kept.entry(hash).or_default().push(Composed { shape: shape.owned(), sql: sql.clone() });
        }
        sql
    }
}

/// A unit's statements as the CTEs `ecert_s0`, `ecert_s1`, … and the call that checks them.
struct Writes {
    ctes: String,
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
        // The values of the statements before this one, which follow the `offset` values.
        let mut before = 0;
        let mut tables = Vec::with_capacity(statements.len());
        for (index, statement) in statements.iter().enumerate() {
            let text = statement.query.text(Backend::Postgres);
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
            renumber(text, offset + before, statement.query.values().len(), &mut ctes)?;
            ctes.push_str(" RETURNING 1)");
            before += statement.query.values().len();
        }
        let counts: Vec<String> = (0..statements.len()).map(|i| format!("(SELECT count(*) FROM ecert_s{i})")).collect();
        let must: Vec<&str> = statements.iter().map(|s| if s.must_change { "true" } else { "false" }).collect();
        let check = format!("ecert_unit_changed(ARRAY[{}], ARRAY[{}])", counts.join(", "), must.join(", "));
        Some(Writes { ctes, check })
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

    /// The counter's check's shape: a gated read and three writes, built afresh as a request does.
    fn check(n: i64) -> (Query, Vec<Statement>) {
        let read = query("SELECT id, n > $2 AS go FROM t WHERE key = $1").bind(format!("k{n}")).bind(n);
        let unit = vec![
            query("UPDATE c SET tries = tries - 1 WHERE id = $1").bind(n).must_change(),
            query("UPDATE t SET used = $1 WHERE id = (SELECT id FROM ecert_read WHERE go)").bind(n).must_change(),
            query("INSERT INTO r (id, t_id) SELECT $1, id FROM ecert_read WHERE go").bind(format!("r{n}")).into(),
        ];
        (read, unit)
    }

    #[test]
    fn the_memo_answers_what_composing_answers_and_keeps_one_text_per_shape() {
        let memo = Memo::new(8);
        for n in 0..3 {
            let (read, unit) = check(n);
            let (sql, values) = memo.read_then_unit(&read, Some("go"), &unit).unwrap();
            let (fresh_sql, fresh_values) = read_then_unit(&read, Some("go"), &unit).unwrap();
            assert_eq!((&*sql, &values), (fresh_sql.as_str(), &fresh_values), "request {n}");
            assert_eq!(values[0], Value::Text(Some(format!("k{n}"))), "this request's values, not the first's");
        }
        assert_eq!(memo.len(), 1, "three requests of one shape");
        let (read, unit) = check(9);
        let (ungated, _) = memo.read_then_unit(&read, None, &unit).unwrap();
        assert_eq!(Some(ungated.to_string()), read_then_unit(&read, None, &unit).map(|(sql, _)| sql));
        let loose = [unit[0].query.clone().into(), unit[1].clone(), unit[2].clone()];
        let (unmarked, _) = memo.read_then_unit(&read, Some("go"), &loose).unwrap();
        assert!(unmarked.contains("ARRAY[false, true, false]"), "{unmarked}");
        let more = query("UPDATE c SET tries = tries - $2 WHERE id = $1").bind(1).bind(1).must_change();
        let longer = [more, unit[1].clone(), unit[2].clone()];
        let (renumbered, values) = memo.read_then_unit(&read, Some("go"), &longer).unwrap();
        assert_eq!(values.len(), 6);
        assert!(renumbered.contains("UPDATE t SET used = $5"), "the values after the longer statement: {renumbered}");
        let writes = &unit[..2];
        let (alone, _) = memo.one_statement(writes).unwrap();
        assert_eq!(Some(alone.to_string()), one_statement(writes).map(|(sql, _)| sql));
        assert_eq!(memo.len(), 5, "a gate, a mark, a number of values and no read are each a shape of their own");
    }

    #[test]
    fn the_memo_keeps_a_refusal_and_never_more_than_its_capacity() {
        let memo = Memo::new(3);
        let returning = || [query("UPDATE t SET a = $1 RETURNING id").bind(1).into()];
        assert!(memo.one_statement(&returning()).is_none());
        assert!(memo.one_statement(&returning()).is_none(), "refused again, from the memo");
        assert_eq!(memo.len(), 1);
        for n in 0..10 {
            let write = [query(format!("UPDATE t{n} SET a = $1")).bind(n).into()];
            let (sql, _) = memo.one_statement(&write).unwrap();
            assert!(sql.contains(&format!("UPDATE t{n} SET")), "{sql}");
            assert!(memo.len() <= 3, "{} shapes kept", memo.len());
        }
        let none = Memo::new(0);
        assert!(none.one_statement(&[query("UPDATE t SET a = 1").into()]).is_some());
        assert!(none.is_empty(), "a memo of no capacity composes every time");
    }
}
