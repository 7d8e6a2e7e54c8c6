//! A minimal reader of the project's OpenAPI documents (`docs/*-api.yaml`) for the contract
//! tests: block mappings, two spaces an indent; request examples, `required` lists and
//! `x-device-signature` stay on one line, as the documents say.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A document's lines, read once.
pub(crate) fn lines_of(doc: &'static str) -> Vec<&'static str> {
    doc.lines().collect()
}

/// One `key: value` of a block mapping, with the lines nested under it.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
    pub(crate) body: &'a [&'a str],
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn meaningful(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The entries of the mapping made by `lines` (all at the indent of its first meaningful line).
pub(crate) fn entries<'a>(lines: &'a [&'a str]) -> Vec<Entry<'a>> {
    let Some(first) = lines.iter().find(|l| meaningful(l)) else { return Vec::new() };
    let at = indent(first);
    let starts: Vec<usize> = (0..lines.len()).filter(|&i| meaningful(lines[i]) && indent(lines[i]) == at).collect();
    starts
        .iter()
        .map(|&i| {
            let end =
                (i + 1..lines.len()).find(|&j| meaningful(lines[j]) && indent(lines[j]) <= at).unwrap_or(lines.len());
            let text = lines[i].trim();
            let (key, value) = match text.find(": ") {
                Some(p) => (&text[..p], text[p + 2..].trim()),
                None => (text.strip_suffix(':').unwrap_or(text), ""),
            };
            Entry { key: key.trim_matches('"').trim_matches('\''), value, body: &lines[i + 1..end] }
        })
        .collect()
}

pub(crate) fn child<'a>(lines: &'a [&'a str], key: &str) -> Option<Entry<'a>> {
    entries(lines).into_iter().find(|e| e.key == key)
}

pub(crate) fn at<'a>(lines: &'a [&'a str], keys: &[&str]) -> Option<Entry<'a>> {
    let (first, rest) = keys.split_first()?;
    let mut entry = child(lines, first)?;
    for key in rest {
        entry = child(entry.body, key)?;
    }
    Some(entry)
}

pub(crate) fn json(value: &str, what: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|e| panic!("{what}: not one-line JSON ({e}): {value}"))
}

/// `[a, b]` → {a, b}.
pub(crate) fn flow_list(value: &str) -> BTreeSet<String> {
    let inner = value.trim().strip_prefix('[').and_then(|v| v.strip_suffix(']')).expect("a [flow, list]");
    inner.split(',').map(|s| s.trim().trim_matches('"').to_owned()).filter(|s| !s.is_empty()).collect()
}

/// What the document says about one operation.
pub(crate) struct Operation<'a> {
    pub(crate) path: String,
    pub(crate) method: String,
    pub(crate) statuses: BTreeSet<u16>,
    pub(crate) body: &'a [&'a str],
}

/// The document's operations, each with its documented statuses.
pub(crate) fn operations(lines: &'static [&'static str]) -> Vec<Operation<'static>> {
    let paths = child(lines, "paths").expect("a top-level `paths:`");
    let mut ops = Vec::new();
    for path in entries(paths.body) {
        for op in entries(path.body) {
            let responses =
                child(op.body, "responses").unwrap_or_else(|| panic!("{} {}: no responses", op.key, path.key));
            let statuses = entries(responses.body)
                .iter()
                .map(|r| r.key.parse::<u16>().unwrap_or_else(|_| panic!("{}: status `{}`", path.key, r.key)))
                .collect();
            ops.push(Operation {
                path: path.key.to_owned(),
                method: op.key.to_ascii_uppercase(),
                statuses,
                body: op.body,
            });
        }
    }
    ops
}

pub(crate) fn request_example(op: &Operation) -> Value {
    let example = at(op.body, &["requestBody", "content", "application/json", "example"])
        .unwrap_or_else(|| panic!("{}: no one-line request example", op.path));
    json(example.value, &op.path)
}

/// A component schema's property names and its `required` list.
pub(crate) fn schema_keys(lines: &[&str], reference: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let name = reference.trim_matches('"').strip_prefix("#/components/schemas/").expect("a component schema");
    let schema = at(lines, &["components", "schemas", name]).unwrap_or_else(|| panic!("no schema {name}"));
    let properties = child(schema.body, "properties")
        .map_or_else(BTreeSet::new, |p| entries(p.body).iter().map(|e| e.key.to_owned()).collect());
    let required = child(schema.body, "required").map_or_else(BTreeSet::new, |r| flow_list(r.value));
    (properties, required)
}

/// The keys a type serializes (always all of them), and those it cannot be decoded without,
/// probed from a full example.
pub(crate) fn keys_of<T: DeserializeOwned + Serialize>(
    example: &Value,
    what: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let value: T = serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{what}: {e}: {example}"));
    let round = serde_json::to_value(&value).unwrap();
    assert_eq!(&round, example, "{what}: the example is exactly what the server reads and writes");
    let Value::Object(map) = round else { return (BTreeSet::new(), BTreeSet::new()) };
    let required = map
        .keys()
        .filter(|k| {
            let mut without = map.clone();
            without.remove(*k);
            serde_json::from_value::<T>(Value::Object(without)).is_err()
        })
        .cloned()
        .collect();
    (map.keys().cloned().collect(), required)
}
