//! A JSON document of a context (a policy, an event pattern), shared with the renderer.
//!
//! The renderer reads each context as a tree built by serde (`render::value`), which would
//! copy a bucket policy of hundreds of statements key by key, once per stack. A `Doc`
//! serialises as its JSON to every serializer. To the renderer's it also hands over the
//! document itself: it serialises as a newtype struct named [`Doc::TOKEN`] and, for the
//! length of that call, leaves a shared reference in a thread-local slot that
//! [`Doc::take`] empties. serde_json treats the newtype as its content, so the JSON of a
//! context (and its schema) is the same as with a plain `serde_json::Value`. No IO.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A JSON document, cheap to hand over (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc(Arc<Value>);

thread_local! {
    /// The document being serialised on this thread, until a serializer takes it.
    static SERIALISING: RefCell<Option<Arc<Value>>> = const { RefCell::new(None) };
}

impl Doc {
    /// The newtype name a `Doc` serialises under (no type of serde_json's uses it).
    pub(crate) const TOKEN: &'static str = "$meshsynth::Doc";

    /// The document being serialised, from a serializer's `serialize_newtype_struct` called
    /// with [`Doc::TOKEN`]: each call takes it (the next gets `None`).
    pub(crate) fn take() -> Option<Arc<Value>> {
        SERIALISING.with(|slot| slot.borrow_mut().take())
    }
}

impl From<Value> for Doc {
    fn from(v: Value) -> Doc {
        Doc(Arc::new(v))
    }
}

impl Deref for Doc {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SERIALISING.with(|slot| *slot.borrow_mut() = Some(Arc::clone(&self.0)));
        let done = s.serialize_newtype_struct(Doc::TOKEN, &*self.0);
        // A serializer that did not take it (serde_json's) leaves nothing behind.
        SERIALISING.with(|slot| slot.borrow_mut().take());
        done
    }
}

impl schemars::JsonSchema for Doc {
    fn inline_schema() -> bool {
        Value::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        Value::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        Value::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Value::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, schemars::JsonSchema)]
    struct WithDoc {
        policy: Doc,
        maybe: Option<Doc>,
    }

    #[derive(Serialize, schemars::JsonSchema)]
    struct WithValue {
        policy: Value,
        maybe: Option<Value>,
    }

    #[test]
    fn serialises_and_describes_itself_as_its_json() {
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]});
        let with_doc = WithDoc {
            policy: policy.clone().into(),
            maybe: Some(Value::Null.into()),
        };
        let with_value = WithValue {
            policy,
            maybe: Some(Value::Null),
        };
        assert_eq!(
            serde_json::to_string_pretty(&with_doc).expect("serialises"),
            serde_json::to_string_pretty(&with_value).expect("serialises")
        );
        assert_eq!(
            serde_json::to_value(&with_doc).expect("serialises"),
            serde_json::to_value(&with_value).expect("serialises")
        );
        assert_eq!(Doc::take(), None, "serde_json leaves the slot empty");
        let schema = |s: schemars::Schema| serde_json::to_value(s).expect("serialises");
        assert_eq!(
            schema(schemars::schema_for!(WithDoc))["properties"],
            schema(schemars::schema_for!(WithValue))["properties"]
        );
    }
}
