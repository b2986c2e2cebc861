//! An issue's `fields` read with the system objects cut down to the members the plugin reads.
//!
//! Jira answers each of an issue's status, issue type, parent and users as an object of a
//! dozen members (its `self` and icon URLs, a description, a colour name, avatar URLs, time
//! zone...), the parent with its own status and type inside. The plugin reads two or three
//! members of each, and a full sync reads a hundred thousand issues: built as JSON trees,
//! these objects were most of the work of parsing a page. [`fields`] keeps, of the objects
//! named in [`rule`], the members their rule lists (parsed as trees, as before) and skips the
//! rest without building anything; every other field is read whole, as it was. A value of
//! another shape than an object (a status given as text, say) is kept whole too, so that the
//! reader's drift diagnostics show what came.

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// What of a member is kept: all of it, or of an object the members listed.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    /// The whole value.
    All,
    /// Of an object, the members listed (each with what of it is kept); the value whole if it
    /// is not an object.
    Members(&'static [(&'static str, Keep)]),
}

/// A user (assignee, reporter, creator): who it is and how to name them.
const USER: &[(&str, Keep)] = &[
    ("accountId", Keep::All),
    ("name", Keep::All),
    ("key", Keep::All),
    ("displayName", Keep::All),
    ("emailAddress", Keep::All),
    ("active", Keep::All),
];

/// An issue type: its name and where it sits in the hierarchy.
const ISSUE_TYPE: &[(&str, Keep)] = &[
    ("id", Keep::All),
    ("name", Keep::All),
    ("subtask", Keep::All),
    ("hierarchyLevel", Keep::All),
];

/// A status: its name and its category's key.
const STATUS: &[(&str, Keep)] = &[
    ("id", Keep::All),
    ("name", Keep::All),
    (
        "statusCategory",
        Keep::Members(&[("id", Keep::All), ("key", Keep::All), ("name", Keep::All)]),
    ),
];

/// A parent: which issue, and of its fields its summary, status and type.
const PARENT: &[(&str, Keep)] = &[
    ("id", Keep::All),
    ("key", Keep::All),
    (
        "fields",
        Keep::Members(&[
            ("summary", Keep::All),
            ("status", Keep::Members(STATUS)),
            ("issuetype", Keep::Members(ISSUE_TYPE)),
        ]),
    ),
];

/// What of a system field the plugin keeps; `None` for a field kept whole.
pub fn rule(field: &str) -> Option<Keep> {
    Some(Keep::Members(match field {
        "status" => STATUS,
        "issuetype" => ISSUE_TYPE,
        "parent" => PARENT,
        "assignee" | "reporter" | "creator" => USER,
        _ => return None,
    }))
}

/// `fields` of an issue as [`rule`] keeps them (for `#[serde(deserialize_with)]`).
pub fn fields<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of fields")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(name) = map.next_key::<String>()? {
                let value = match rule(&name) {
                    Some(keep) => map.next_value_seed(keep)?,
                    None => map.next_value::<Value>()?,
                };
                out.insert(name, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Fields)
}

impl<'de> DeserializeSeed<'de> for Keep {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self {
            Keep::All => serde::Deserialize::deserialize(d),
            Keep::Members(members) => d.deserialize_any(Kept(members)),
        }
    }
}

/// Which of the listed members a key is, read without copying it.
struct MemberOf(&'static [(&'static str, Keep)]);

impl<'de> DeserializeSeed<'de> for MemberOf {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberOf {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member's name")
    }
    fn visit_str<E: Error>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|(member, _)| *member == name))
    }
}

/// A value with, if it is an object, only the listed members.
struct Kept(&'static [(&'static str, Keep)]);

impl<'de> Visitor<'de> for Kept {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(at) = map.next_key_seed(MemberOf(self.0))? {
            match at {
                Some(i) => {
                    let (name, keep) = self.0[i];
                    let value = map.next_value_seed(keep)?;
                    out.insert(name.to_string(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_bool<E: Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E: Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::api::Issue;
    use serde_json::json;

    /// A story as Jira Cloud answers it, every member of its objects there.
    fn story() -> serde_json::Value {
        let status = json!({
            "self": "https://x.atlassian.net/rest/api/3/status/3",
            "description": "Being worked on",
            "iconUrl": "https://x.atlassian.net/images/icons/statuses/inprogress.png",
            "name": "In Progress",
            "id": "3",
            "statusCategory": {"self": "https://x.atlassian.net/rest/api/3/statuscategory/4",
                "id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"}
        });
        let epic_type = json!({"self": "https://x.atlassian.net/rest/api/3/issuetype/10000",
            "id": "10000", "description": "A big user story", "iconUrl": "https://x/epic.svg",
            "name": "Epic", "subtask": false, "avatarId": 10307, "hierarchyLevel": 1});
        json!({
            "id": "10400", "key": "BIZ-400", "self": "https://x.atlassian.net/rest/api/3/issue/10400",
            "fields": {
                "summary": "Checkout in one step",
                "status": status,
                "issuetype": {"self": "https://x/10001", "id": "10001", "description": "",
                    "iconUrl": "https://x/story.svg", "name": "Story", "subtask": false,
                    "avatarId": 10315, "entityId": "9d2e", "hierarchyLevel": 0},
                "parent": {"id": "10038", "key": "BIZ-38", "self": "https://x/issue/10038",
                    "fields": {"summary": "Payments", "status": status,
                        "priority": {"self": "https://x/priority/3", "iconUrl": "https://x/p.svg",
                            "name": "Medium", "id": "3"},
                        "issuetype": epic_type}},
                "assignee": {"self": "https://x/user?accountId=5b10", "accountId": "5b10",
                    "emailAddress": "ana@example.com",
                    "avatarUrls": {"48x48": "https://a/48", "24x24": "https://a/24",
                        "16x16": "https://a/16", "32x32": "https://a/32"},
                    "displayName": "Ana Lima", "active": true, "timeZone": "Europe/Lisbon",
                    "accountType": "atlassian"},
                "customfield_10016": 5.0,
                "customfield_10020": [{"id": 42, "name": "Sprint 7", "self": "https://x/sprint/42"}],
                "labels": ["checkout"]
            }
        })
    }

    #[test]
    fn the_system_objects_keep_what_the_plugin_reads_and_other_fields_stay_whole() {
        let issue: Issue = serde_json::from_value(story()).unwrap();
        let expected_status = json!({"id": "3", "name": "In Progress",
            "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"}});
        assert_eq!(issue.fields["status"], expected_status);
        assert_eq!(
            issue.fields["issuetype"],
            json!({"id": "10001", "name": "Story", "subtask": false, "hierarchyLevel": 0})
        );
        assert_eq!(
            issue.fields["parent"],
            json!({"id": "10038", "key": "BIZ-38", "fields": {"summary": "Payments",
                "status": expected_status,
                "issuetype": {"id": "10000", "name": "Epic", "subtask": false, "hierarchyLevel": 1}}})
        );
        assert_eq!(
            issue.fields["assignee"],
            json!({"accountId": "5b10", "emailAddress": "ana@example.com",
                "displayName": "Ana Lima", "active": true})
        );
        // Fields without a rule, custom ones included, come whole.
        assert_eq!(issue.fields["summary"], "Checkout in one step");
        assert_eq!(issue.fields["customfield_10016"], 5.0);
        assert_eq!(
            issue.fields["customfield_10020"],
            json!([{"id": 42, "name": "Sprint 7", "self": "https://x/sprint/42"}])
        );
        assert_eq!(issue.fields["labels"], json!(["checkout"]));
        assert_eq!(issue.key(), "BIZ-400");
    }

    #[test]
    fn a_system_field_of_another_shape_is_kept_whole() {
        let mut story = story();
        story["fields"]["status"] = json!("In Progress");
        story["fields"]["issuetype"] = json!(["Story", {"self": "https://x", "name": "Story"}]);
        story["fields"]["assignee"] = json!(null);
        story["fields"]["parent"] = json!({"key": "BIZ-38", "fields": 7});
        let issue: Issue = serde_json::from_value(story).unwrap();
        assert_eq!(issue.fields["status"], "In Progress");
        assert_eq!(
            issue.fields["issuetype"],
            json!(["Story", {"self": "https://x", "name": "Story"}])
        );
        assert_eq!(issue.fields["assignee"], json!(null));
        assert!(issue.field("assignee").is_none());
        assert_eq!(
            issue.fields["parent"],
            json!({"key": "BIZ-38", "fields": 7})
        );
    }

    #[test]
    fn keys_with_escapes_and_broken_answers_are_read_as_json_reads_them() {
        // A member's name with an escape is still recognised; a broken value is an error.
        let text = r#"{"id":"1","key":"A-1","fields":{"status":{"na\u006de":"Done","self":"x"}}}"#;
        let issue: Issue = serde_json::from_str(text).unwrap();
        assert_eq!(issue.fields["status"], json!({"name": "Done"}));
        let broken = r#"{"id":"1","key":"A-1","fields":{"status":{"name":}}}"#;
        assert!(serde_json::from_str::<Issue>(broken).is_err());
        let not_an_object = r#"{"id":"1","key":"A-1","fields":[1]}"#;
        assert!(serde_json::from_str::<Issue>(not_an_object).is_err());
    }
}
