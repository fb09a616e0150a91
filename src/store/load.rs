//! Reading versions.json tolerantly: one wrong value costs only what it spoils. The file is
//! parsed into a [`serde_json::Value`] first; then each history entry and each event is
//! read on its own, and the remaining top-level fields (whatever [`Db`] holds besides
//! `history` and `events`, including fields added later) are read together, falling back
//! field by field to their defaults. So:
//!
//! - an entry with one bad field is repaired when the field can be left out (it takes its
//!   default) or, for `status`, set to `bad` (a version whose trust is unknown is never
//!   booted automatically; `pxos switch --force` puts it back on probation); an entry
//!   whose identity (`id`, `version`, `file`, `size`, `date`) or checksum is unreadable
//!   is dropped, and its kernel file is left alone;
//! - an unreadable event is dropped; an `events` that is not a list loses the events;
//! - a file that is not a JSON object, or has no `history` list, cannot be read at all:
//!   the caller rebuilds the database from `kernels/` ([`super::rebuild`]).
//!
//! Every repair comes back as a message. The store keeps the file as it was beside itself
//! before it writes a repaired one (see [`super::Store`]).

use super::db::{Db, Entry, Event, Status};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The database read from versions.json's bytes with the messages about what was
/// repaired, or why nothing could be read (the file must then be rebuilt).
pub fn parse(bytes: &[u8]) -> Result<(Db, Vec<String>), String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("is not JSON ({e})"))?;
    let Value::Object(mut top) = value else {
        return Err(format!("holds {}, not a JSON object", describe(&value)));
    };
    let history = match top.remove("history") {
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("has a \"history\" that is {}", describe(&other))),
        None => return Err("has no \"history\"".to_string()),
    };
    let events = top.remove("events");
    let pipeline = top.remove("pipeline");
    let mut msgs = Vec::new();
    let mut db = top_level(top, &mut msgs);
    if let Some(value) = pipeline {
        db.pipeline = super::candidates::read_pipeline(value, &mut msgs);
    }
    db.history = history
        .into_iter()
        .enumerate()
        .filter_map(|(at, item)| entry(at, item, &mut msgs))
        .collect();
    db.events = match events {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .filter_map(|(at, item)| event(at, item, &mut msgs))
            .collect(),
        Some(other) => {
            msgs.push(format!(
                "versions.json: \"events\" is {}, not a list; the events are left out (the damaged file that is kept holds them)",
                describe(&other)
            ));
            Vec::new()
        }
    };
    Ok((db, msgs))
}

/// The top-level fields other than `history` and `events`: all at once if they read,
/// else each on its own, a field that does not read taking its default.
fn top_level(fields: Map<String, Value>, msgs: &mut Vec<String>) -> Db {
    if let Ok(db) = read::<Db>(&fields) {
        return db;
    }
    let mut kept = Map::new();
    for (key, value) in fields {
        let mut trial = kept.clone();
        trial.insert(key.clone(), value);
        match read::<Db>(&trial) {
            Ok(_) => kept = trial,
            Err(e) => msgs.push(format!(
                "versions.json: {key:?} {}; set to its default",
                reason(&trial[&key], &e)
            )),
        }
    }
    read::<Db>(&kept).unwrap_or_default()
}

/// History entry number `at`: read, repaired field by field, or dropped (`None`).
fn entry(at: usize, item: Value, msgs: &mut Vec<String>) -> Option<Entry> {
    if let Ok(e) = Entry::deserialize(&item) {
        return Some(e);
    }
    let Value::Object(mut fields) = item else {
        msgs.push(format!(
            "versions.json: history entry {at} is {}, not an object; dropped",
            describe(&item)
        ));
        return None;
    };
    let who = who(at, &fields);
    let template = full_entry();
    let keys: Vec<String> = fields.keys().cloned().collect();
    for key in keys {
        let mut trial = template.clone();
        trial.insert(key.clone(), fields[&key].clone());
        let Err(err) = read::<Entry>(&trial) else {
            continue;
        };
        let why = reason(&fields[&key], &err);
        let mut without = template.clone();
        without.remove(&key);
        if key == "status" {
            fields.insert(key, Value::from(Status::Bad.as_str()));
            msgs.push(format!(
                "versions.json: {who}: \"status\" {why}; marked bad (`pxos switch --force` puts it back on probation)"
            ));
        } else if key != "sha256" && read::<Entry>(&without).is_ok() {
            fields.remove(&key);
            msgs.push(format!("versions.json: {who}: {key:?} {why}; left out"));
        } else {
            msgs.push(format!(
                "versions.json: dropped {who}: {key:?} {why} (its kernel file is left alone)"
            ));
            return None;
        }
    }
    match read::<Entry>(&fields) {
        Ok(e) => Some(e),
        Err(e) => {
            msgs.push(format!("versions.json: dropped {who}: {e}"));
            None
        }
    }
}

/// Event number `at`, or `None` (dropped) if it does not read.
fn event(at: usize, item: Value, msgs: &mut Vec<String>) -> Option<Event> {
    match Event::deserialize(&item) {
        Ok(ev) => Some(ev),
        Err(e) => {
            msgs.push(format!(
                "versions.json: event {at} cannot be read ({e}); dropped"
            ));
            None
        }
    }
}

fn read<T: DeserializeOwned>(fields: &Map<String, Value>) -> Result<T, serde_json::Error> {
    T::deserialize(&Value::Object(fields.clone()))
}

/// An entry with every field present, for telling which field of a damaged entry is bad.
fn full_entry() -> Map<String, Value> {
    let e = Entry {
        id: 1,
        version: "v".to_string(),
        file: "kernel_v.bin".to_string(),
        parent: Some("p".to_string()),
        date: "2025-01-01T00:00:00Z".to_string(),
        size: 1,
        parent_id: Some(1),
        sha256: Some("0".repeat(64)),
        status: Status::Good,
        origin: Some("register".to_string()),
    };
    match serde_json::to_value(e) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    }
}

/// How history entry `at` is named in messages: by its id and name where they read.
fn who(at: usize, fields: &Map<String, Value>) -> String {
    let mut s = format!("history entry {at}");
    let id = fields.get("id").and_then(Value::as_u64);
    let name = fields.get("version").and_then(Value::as_str);
    match (name, id) {
        (Some(n), Some(id)) => s += &format!(" ({n:?}, id {id})"),
        (Some(n), None) => s += &format!(" ({n:?})"),
        (None, Some(id)) => s += &format!(" (id {id})"),
        (None, None) => {}
    }
    s
}

/// `is -5, not what pxOS writes there (invalid value: ...)`.
fn reason(value: &Value, err: &serde_json::Error) -> String {
    let mut shown = value.to_string();
    if shown.len() > 60 {
        shown = describe(value).to_string();
    }
    format!("is {shown}, which pxOS cannot use ({err})")
}

/// A JSON value's kind, for messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"current": "v2.0", "current_id": 2, "latest_id": 2,
      "history": [
        {"id": 1, "version": "v1.0", "file": "kernel_v1.0.bin", "parent": null,
         "date": "2025-11-14T23:10:32Z", "size": 4, "status": "bad"},
        {"id": 2, "version": "v2.0", "file": "kernel_v2.0.bin", "parent": "v1.0",
         "parent_id": 1, "date": "2025-11-14T23:15:45Z", "size": 5, "status": "good"}
      ],
      "events": [{"date": "2025-11-14T23:15:45Z", "kind": "switch", "reason": "t"}]}"#;

    fn parse_str(s: &str) -> (Db, Vec<String>) {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_sound_file_reads_without_messages() {
        let (db, msgs) = parse_str(GOOD);
        assert!(msgs.is_empty(), "{msgs:?}");
        assert_eq!(db, Db::parse(GOOD.as_bytes()).unwrap());
    }

    #[test]
    fn one_bad_field_costs_only_its_entry_or_field() {
        let cases = [
            ("\"size\": 5", "\"size\": -5", 1),
            ("\"id\": 2", "\"id\": \"2\"", 1),
            ("\"parent_id\": 1", "\"parent_id\": \"x\"", 2),
        ];
        for (from, to, left) in cases {
            let (db, msgs) = parse_str(&GOOD.replace(from, to));
            assert_eq!(db.history.len(), left, "{to}: {msgs:?}");
            assert_eq!(msgs.len(), 1, "{to}: {msgs:?}");
            assert!(msgs[0].contains("history entry 1"), "{msgs:?}");
            assert_eq!(db.history[0].status, Status::Bad, "{to}: statuses kept");
            assert_eq!(db.events.len(), 1, "{to}: events kept");
            assert_eq!(db.current_id, Some(2));
        }
        let (db, msgs) = parse_str(&GOOD.replace("\"good\"", "\"zombie\""));
        assert_eq!(db.history[1].status, Status::Bad, "{msgs:?}");
        assert!(msgs[0].contains("zombie") && msgs[0].contains("marked bad"));
    }

    #[test]
    fn bad_events_and_top_level_fields_fall_back_alone() {
        let (db, msgs) = parse_str(&GOOD.replace("\"kind\": \"switch\"", "\"kind\": 7"));
        assert!(db.events.is_empty() && db.history.len() == 2, "{msgs:?}");
        let text = GOOD.replace("\"events\": [", "\"events\": \"x\", \"old\": [");
        let (db, msgs) = parse_str(&text);
        assert_eq!((db.history.len(), db.events.len()), (2, 0));
        assert!(msgs[0].contains("\"events\" is a string"), "{msgs:?}");
        let (db, msgs) = parse_str(&GOOD.replace("\"latest_id\": 2", "\"latest_id\": -1"));
        assert_eq!((db.latest_id, db.current_id), (0, Some(2)), "{msgs:?}");
        assert!(msgs[0].contains("\"latest_id\" is -1"), "{msgs:?}");
    }

    #[test]
    fn a_file_without_a_history_cannot_be_read() {
        for text in ["[1]", "{\"current\": null}", "{\"history\": 3}", "{"] {
            assert!(parse(text.as_bytes()).is_err(), "{text}");
        }
    }
}
