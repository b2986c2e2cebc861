//! Opaque cursors and checkpoints. The host stores them as strings and hands them back; a
//! plugin keeps whatever it needs in them (a page token, an offset, a watermark) as JSON.

use crate::PluginError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encode a cursor or checkpoint value.
pub fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("cursor values serialise to JSON")
}

/// Decode a cursor or checkpoint given by the host; `None` stays `None`. A value that does not
/// parse (e.g. written by an older plugin version) is an internal error that says so.
pub fn decode<T: DeserializeOwned>(value: Option<&str>) -> Result<Option<T>, PluginError> {
    match value {
        None => Ok(None),
        Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
            PluginError::Internal(format!(
                "cursor or checkpoint `{text}` was not written by this plugin version: {e}; run a full sync"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Cursor {
        token: String,
        seen: u32,
    }

    #[test]
    fn cursor_round_trips_and_garbage_is_an_error() {
        let c = Cursor {
            token: "CAEa".into(),
            seen: 50,
        };
        let text = encode(&c);
        assert_eq!(decode::<Cursor>(Some(&text)).unwrap(), Some(c));
        assert_eq!(decode::<Cursor>(None).unwrap(), None);
        let err = decode::<Cursor>(Some("not json")).unwrap_err();
        assert!(format!("{err:?}").contains("run a full sync"), "{err:?}");
    }
}
