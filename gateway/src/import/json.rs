//! JSON documents: an array of objects in the model's own serde shape.
//!
//! Each item is decoded on its own so that one bad item does not hide the others, and the
//! decoder's path names the field (`due`, `components[1].carat`) in the problem.

use serde::de::DeserializeOwned;
use serde_json::Value;
use touchstone_model::ids::JobId;
use touchstone_model::workshop::Component;

use super::{Batch, Items, JobComponent, Kind, Location, Problem, Rejection};

/// Parses `bytes` as a JSON array of items of `kind`; returns the good items and the
/// problems of the bad ones.
pub(super) fn parse(kind: Kind, bytes: &[u8]) -> Result<(Batch, Vec<Problem>), Rejection> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|err| Rejection::Malformed(format!("not valid JSON: {err}")))?;
    let Value::Array(elements) = value else {
        return Err(Rejection::Malformed(format!("expected a JSON array of {kind}")));
    };
    let mut problems = Vec::new();
    let (at, items) = match kind {
        Kind::Alloys => decode_all(elements, &mut problems, Items::Alloys),
        Kind::Stages => decode_all(elements, &mut problems, Items::Stages),
        Kind::Stations => decode_all(elements, &mut problems, Items::Stations),
        Kind::Operators => decode_all(elements, &mut problems, Items::Operators),
        Kind::LossBands => decode_all(elements, &mut problems, Items::LossBands),
        Kind::Jobs => decode_all(elements, &mut problems, Items::Jobs),
        Kind::Components => {
            let mut at = Vec::new();
            let mut items = Vec::new();
            for (index, element) in elements.into_iter().enumerate() {
                if let Some(item) = decode_component(index, element, &mut problems) {
                    at.push(Location::Index(index));
                    items.push(item);
                }
            }
            (at, Items::Components(items))
        }
    };
    Ok((Batch { at, items }, problems))
}

fn decode_all<T: DeserializeOwned>(
    elements: Vec<Value>,
    problems: &mut Vec<Problem>,
    wrap: fn(Vec<T>) -> Items,
) -> (Vec<Location>, Items) {
    let mut at = Vec::new();
    let mut items = Vec::new();
    for (index, element) in elements.into_iter().enumerate() {
        if let Some(item) = decode_one(index, element, problems) {
            at.push(Location::Index(index));
            items.push(item);
        }
    }
    (at, wrap(items))
}

fn decode_one<T: DeserializeOwned>(
    index: usize,
    element: Value,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let at = Location::Index(index);
    if !element.is_object() {
        problems.push(Problem::new(at, "", "expected an object"));
        return None;
    }
    match serde_path_to_error::deserialize::<_, T>(&element) {
        Ok(item) => Some(item),
        Err(err) => {
            let path = err.path().to_string();
            let message = err.inner().to_string();
            problems.push(explain(at, &element, &path, &message));
            None
        }
    }
}

/// A component item: the component's own fields plus `job_id`.
fn decode_component(
    index: usize,
    mut element: Value,
    problems: &mut Vec<Problem>,
) -> Option<JobComponent> {
    let at = Location::Index(index);
    let Some(object) = element.as_object_mut() else {
        problems.push(Problem::new(at, "", "expected an object"));
        return None;
    };
    let job = match object.remove("job_id") {
        None => Err("is required".to_owned()),
        Some(Value::String(text)) => JobId::new(text).map_err(|e| e.to_string()),
        Some(other) => Err(format!("{other} is not a job id")),
    };
    let component = decode_one::<Component>(index, element, problems);
    match job {
        Ok(job) => component.map(|component| JobComponent { job, component }),
        Err(message) => {
            problems.push(Problem::new(at, "job_id", message));
            None
        }
    }
}

/// Turns a decoder error into a problem naming the field and quoting the bad value.
fn explain(at: Location, element: &Value, path: &str, message: &str) -> Problem {
    // Missing and unknown fields are reported at the object that lacks or has them; the
    // field's name is in the message.
    for (prefix, what) in [("missing field `", "is required"), ("unknown field `", "")] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let name = rest.split('`').next().unwrap_or_default();
            // An unknown field's path already ends with it; a missing one's does not.
            let parent = match path.strip_suffix(name) {
                Some(parent) if what.is_empty() => parent.trim_end_matches('.'),
                _ => path,
            };
            let field = join_path(parent, name);
            let text = if what.is_empty() {
                format!("is not a field of {}; {}", object_name(parent), expected_fields(rest))
            } else {
                what.to_owned()
            };
            return Problem::new(at, field, text);
        }
    }
    let mut field = if path == "." { String::new() } else { path.to_owned() };
    let mut raw_value = value_at(element, path);
    // Inside an internally tagged enum (a job's components) the decoder loses the path at
    // the component; find the field by the value the message quotes.
    if let Some(Value::Object(object)) = raw_value
        && let Some((name, value)) = object.iter().find(|(_, v)| quoted_in(message, v))
    {
        field = join_path(&field, name);
        raw_value = Some(value);
    }
    let path = field.as_str();
    let raw = raw_value.map(short_json).unwrap_or_default();
    let last = path.rsplit('.').next().unwrap_or_default();
    let text = match last {
        "due" => format!("{raw} is not a date (YYYY-MM-DD)"),
        "expected_grams" | "carat" | "total_carat" | "warn_percent" | "hard_percent" => {
            format!("{raw} is not an exact decimal number written as a string, e.g. \"1.25\"")
        }
        _ if raw.is_empty() => message.to_owned(),
        _ => format!("{raw} is not accepted: {message}"),
    };
    Problem::new(at, field, text)
}

/// Whether a decoder message quotes `value` (`invalid value: string "heavy"`).
fn quoted_in(message: &str, value: &Value) -> bool {
    match value {
        Value::String(text) => message.contains(&format!("string \"{text}\"")),
        Value::Number(n) => message.contains(&format!("`{n}`")),
        Value::Bool(b) => message.contains(&format!("boolean `{b}`")),
        _ => false,
    }
}

fn join_path(path: &str, name: &str) -> String {
    if path == "." || path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn object_name(path: &str) -> String {
    if path == "." || path.is_empty() { "this item".to_owned() } else { format!("`{path}`") }
}

fn expected_fields(rest: &str) -> String {
    match rest.split_once(", ") {
        Some((_, expected)) => expected.to_owned(),
        None => "no fields are accepted".to_owned(),
    }
}

/// The value at a decoder path such as `components[1].carat`.
fn value_at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, indexes) = match part.find('[') {
            Some(open) => (&part[..open], &part[open..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            current = current.get(name)?;
        }
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            current = current.get(index.parse::<usize>().ok()?)?;
        }
    }
    Some(current)
}

fn short_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 { text.chars().take(60).collect::<String>() + "…" } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(kind: Kind, text: &str) -> Vec<Problem> {
        parse(kind, text.as_bytes()).unwrap().1
    }

    #[test]
    fn bad_date_names_index_and_field() {
        let text = r#"[
            {"id": "J-1", "customer_ref": "SO-1", "description": "ring", "alloy": "18KY",
             "due": "2026-12-20", "route": ["cad"]},
            {"id": "J-2", "customer_ref": "SO-2", "description": "ring", "alloy": "18KY",
             "due": "2026-13-01", "route": ["cad"]}
        ]"#;
        let found = problems(Kind::Jobs, text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            r#"index 1, field due: "2026-13-01" is not a date (YYYY-MM-DD)"#
        );
    }

    #[test]
    fn nested_component_field_is_named_by_its_path() {
        let text = r#"[{"id": "J-1", "customer_ref": "SO-1", "description": "ring",
            "alloy": "18KY", "due": "2026-12-20", "route": ["cad"],
            "components": [{"type": "stone", "id": "ST-1", "carat": "1.0"},
                           {"type": "stone", "id": "ST-2", "carat": "heavy"}]}]"#;
        let found = problems(Kind::Jobs, text);
        assert_eq!(found[0].field, "components[1].carat", "{found:?}");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let found = problems(
            Kind::Stages,
            r#"[{"name": "Casting"}, {"id": "x", "name": "X", "colour": 1}]"#,
        );
        assert_eq!(found[0].field, "id");
        assert_eq!(found[0].message, "is required");
        assert_eq!(found[1].at, Location::Index(1));
        assert_eq!(found[1].field, "colour");
    }

    #[test]
    fn a_document_that_is_not_an_array_is_malformed() {
        assert!(matches!(parse(Kind::Jobs, b"{}"), Err(Rejection::Malformed(_))));
        assert!(matches!(parse(Kind::Jobs, b"[1,"), Err(Rejection::Malformed(_))));
    }

    #[test]
    fn components_carry_their_job() {
        let text = r#"[{"job_id": "J-1", "type": "packet", "id": "PK-1", "count": 12,
                        "total_carat": "0.36"}, {"type": "part", "description": "post"}]"#;
        let (batch, found) = parse(Kind::Components, text.as_bytes()).unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(found[0].field, "job_id");
    }
}
