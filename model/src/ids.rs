//! Identifiers of the workshop's things, each validated when parsed.
//!
//! Text identifiers (jobs, stations, operators, stages, stones, packets, casting trees, badges)
//! come from barcodes and the ERP, so they are checked once at the boundary and are then
//! trusted everywhere else. Event ids are UUID v7 so that they sort by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The longest text identifier accepted: long enough for any ERP key, short enough for a
/// barcode and an MQTT topic level.
pub const MAX_ID_LEN: usize = 64;

/// Why a text could not be used as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text was empty.
    #[error("{kind} is empty")]
    Empty {
        /// What kind of identifier was being parsed.
        kind: &'static str,
    },
    /// The text was longer than [`MAX_ID_LEN`].
    #[error("{kind} `{text}` is longer than {MAX_ID_LEN} characters")]
    TooLong {
        /// What kind of identifier was being parsed.
        kind: &'static str,
        /// The offending text, cut to a readable length.
        text: String,
    },
    /// The text held a character outside letters, digits, `-`, `_` and `.`.
    #[error("{kind} `{text}` contains `{bad}`; only letters, digits, `-`, `_` and `.` are allowed")]
    BadChar {
        /// What kind of identifier was being parsed.
        kind: &'static str,
        /// The offending text.
        text: String,
        /// The first character that is not allowed.
        bad: char,
    },
    /// An event id was not a UUID, or not a version 7 one.
    #[error("event id `{text}` is not a UUID v7")]
    NotUuidV7 {
        /// The offending text.
        text: String,
    },
}

fn validate(kind: &'static str, text: &str) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if text.chars().count() > MAX_ID_LEN {
        let text = text.chars().take(MAX_ID_LEN).collect::<String>() + "…";
        return Err(IdError::TooLong { kind, text });
    }
    // The same characters are safe in a barcode, a file name, a URL path and an MQTT topic
    // level (no `/`, `+` or `#`).
    if let Some(bad) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c))) {
        return Err(IdError::BadChar { kind, text: text.to_owned(), bad });
    }
    Ok(())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` and wraps it.
            pub fn new(text: impl Into<String>) -> Result<Self, IdError> {
                let text = text.into();
                validate($kind, &text)?;
                Ok(Self(text))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::new(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::new(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id!(
    /// A job (job order, job bag, envelope): the number printed on the envelope's barcode.
    JobId, "job id"
);
text_id!(
    /// A station (bench) on the floor, e.g. `setting-2`.
    StationId, "station id"
);
text_id!(
    /// A person: worker, supervisor or manager.
    OperatorId, "operator id"
);
text_id!(
    /// A stage (process, department) of the route, e.g. `casting`.
    StageId, "stage id"
);
text_id!(
    /// A single significant stone, usually with a lab certificate.
    StoneId, "stone id"
);
text_id!(
    /// A packet of small stones with a count and a total carat weight.
    PacketId, "packet id"
);
text_id!(
    /// A casting tree (flask) carrying many jobs of one alloy.
    TreeId, "tree id"
);
text_id!(
    /// The code printed on an operator's badge.
    BadgeCode, "badge code"
);
text_id!(
    /// An alloy's code, e.g. `18KY` or `AG925`.
    AlloyCode, "alloy code"
);

/// The identity of one floor event: a UUID v7, minted by the bench that recorded it, so that it
/// sorts by creation time and serves as the idempotency key everywhere downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
    /// Mints a new id from the system clock and randomness.
    pub fn now_v7() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps a UUID after checking it is version 7.
    pub fn from_uuid(uuid: Uuid) -> Result<Self, IdError> {
        if uuid.get_version_num() == 7 {
            Ok(Self(uuid))
        } else {
            Err(IdError::NotUuidV7 { text: uuid.to_string() })
        }
    }

    /// The UUID inside.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl FromStr for EventId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let uuid =
            Uuid::parse_str(text).map_err(|_| IdError::NotUuidV7 { text: text.to_owned() })?;
        Self::from_uuid(uuid)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_parse() {
        assert_eq!(JobId::new("J-2026-0153").unwrap().as_str(), "J-2026-0153");
        assert_eq!("setting_2".parse::<StationId>().unwrap().to_string(), "setting_2");
    }

    #[test]
    fn empty_id_is_refused() {
        assert_eq!(JobId::new(""), Err(IdError::Empty { kind: "job id" }));
    }

    #[test]
    fn topic_wildcards_and_spaces_are_refused() {
        for bad in ["bench/1", "bench+", "#", "a b", "jöb"] {
            let err = StationId::new(bad).unwrap_err();
            assert!(matches!(err, IdError::BadChar { .. }), "{bad}: {err}");
        }
        let err = StationId::new("bench/1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "station id `bench/1` contains `/`; only letters, digits, `-`, `_` and `.` are allowed"
        );
    }

    #[test]
    fn overlong_id_is_refused() {
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(matches!(JobId::new(long), Err(IdError::TooLong { .. })));
        assert!(JobId::new("x".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn event_ids_must_be_v7() {
        let id = EventId::now_v7();
        assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
        let v4 = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(matches!(v4.parse::<EventId>(), Err(IdError::NotUuidV7 { .. })));
        assert!("not-a-uuid".parse::<EventId>().is_err());
    }

    #[test]
    fn ids_deserialize_with_validation() {
        let ok: JobId = serde_json::from_str("\"J-1\"").unwrap();
        assert_eq!(ok.as_str(), "J-1");
        let err = serde_json::from_str::<JobId>("\"J 1\"").unwrap_err();
        assert!(err.to_string().contains("job id `J 1` contains ` `"), "{err}");
    }
}
