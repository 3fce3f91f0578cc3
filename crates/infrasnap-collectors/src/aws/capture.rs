//! The raw body of an AWS answer, kept by an SDK interceptor: collectors that write the service's
//! own answer (every field, also ones this SDK version does not model) read it from here instead
//! of re-serialising the SDK's types. Used by Lambda and Lightsail (JSON) and CloudFront (XML).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Map, Value};

use crate::aws::sdk_error::ApiFailure;

/// Keeps the raw body of the answer to one call (add it with `.customize().interceptor(..)`).
#[derive(Debug, Clone, Default)]
pub struct RawAnswer(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for RawAnswer {
    fn name(&self) -> &'static str {
        "infrasnap-raw-answer"
    }
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(b) = context.response().body().bytes() {
            *self.0.lock().expect("capture lock") = Some(b.to_vec());
        }
        Ok(())
    }
}

impl RawAnswer {
    /// The body, once; a failure when the answer had none that could be read.
    pub fn take(&self) -> Result<Vec<u8>, ApiFailure> {
        self.0
            .lock()
            .expect("capture lock")
            .take()
            .ok_or_else(|| unreadable("the answer had no readable body".into()))
    }

    /// The answer as JSON (JSON protocols); an empty body is an empty object.
    pub fn json(&self) -> Result<Value, ApiFailure> {
        let raw = self.take()?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        serde_json::from_slice(&raw).map_err(|e| unreadable(format!("the answer is not JSON: {e}")))
    }
}

/// A failure to read an answer the SDK accepted.
pub fn unreadable(message: String) -> ApiFailure {
    ApiFailure::new("Unreadable", message)
}
