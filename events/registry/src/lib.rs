//! A client of the Confluent Schema Registry REST API, which Confluent, Karapace,
//! Apicurio (its `ccompat` API) and Redpanda serve: register a schema under a
//! subject, test one for compatibility with a subject's latest version, read one
//! by id. Subjects follow the record-name-per-topic strategy
//! (`<topic>-<namespace>.<Record>`, [`subject`]). Errors keep the registry's
//! `error_code` and message ([`RegistryError`]).
//!
//! Used by `sagaflow schemas register|check` and by `sagaflow-bus`'s inbox
//! consumer, which reads the schema of an id it does not know (its
//! `schema_ids`). A crate of its own so that the one HTTP client in the
//! messaging path is this one: the planner's isolation test allows it by name.

use serde::Deserialize;
use serde_json::json;

/// Checks a registry base URL (`SCHEMA_REGISTRY_URL`): http or https with a
/// host; returns it without a trailing slash.
pub fn parse_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    Ok(value.trim().trim_end_matches('/').to_owned())
}

/// The registry's media type.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The subject of a record schema on `topic` (TopicRecordNameStrategy).
pub fn subject(topic: &str, full_name: &str) -> String {
    format!("{topic}-{full_name}")
}

/// What a registry call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry answered with an error body: HTTP status, Confluent
    /// `error_code` (40401 subject not found, 40403 schema not found, 409
    /// incompatible, 42201 invalid schema, 50001 backend error, ...) and message.
    #[error("the schema registry answered {status} (error {code}): {message}")]
    Answered {
        status: u16,
        code: i64,
        message: String,
    },
    #[error("the schema registry at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the schema registry's answer is not what its API documents: {0}")]
    Unexpected(String),
    /// The schema is of another kind (`PROTOBUF`, `JSON`): Sagaflow reads Avro.
    #[error("the schema is {0}, not Avro")]
    NotAvro(String),
}

impl RegistryError {
    /// The Confluent error code, if the registry answered with one.
    pub fn code(&self) -> Option<i64> {
        match self {
            RegistryError::Answered { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The HTTP status, if the registry answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Answered { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A registry at one base URL.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: i64,
    message: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Self, RegistryError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| RegistryError::Unreachable {
                url: base.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    async fn post(&self, path: &str, schema: &str) -> Result<serde_json::Value, RegistryError> {
        let url = format!("{}{path}", self.base);
        let request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(json!({ "schema": schema, "schemaType": "AVRO" }).to_string());
        Self::send(url, request).await
    }

    async fn get(&self, path: &str) -> Result<serde_json::Value, RegistryError> {
        let url = format!("{}{path}", self.base);
        let request = self.http.get(&url);
        Self::send(url, request).await
    }

    /// Sends `request` (to `url`) and reads the JSON answer or the error body.
    async fn send(
        url: String,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, RegistryError> {
        let response = request
            .header(reqwest::header::ACCEPT, CONTENT_TYPE)
            .send()
            .await
            .map_err(|e| RegistryError::Unreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| RegistryError::Unreachable {
                url,
                reason: e.to_string(),
            })?;
        if !(200..300).contains(&status) {
            return Err(match serde_json::from_str::<ErrorBody>(&text) {
                Ok(body) => RegistryError::Answered {
                    status,
                    code: body.error_code,
                    message: body.message,
                },
                Err(_) => RegistryError::Answered {
                    status,
                    code: i64::from(status),
                    message: text,
                },
            });
        }
        serde_json::from_str(&text).map_err(|e| RegistryError::Unexpected(e.to_string()))
    }

    /// Registers `schema` under `subject`; the registry's id for it (the same id
    /// again for a schema it already has).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<i64, RegistryError> {
        let answer = self
            .post(&format!("/subjects/{subject}/versions"), schema)
            .await?;
        answer["id"]
            .as_i64()
            .ok_or_else(|| RegistryError::Unexpected(format!("no id in {answer}")))
    }

    /// The schema the registry holds under global id `id` (`GET
    /// /schemas/ids/{id}`), as its JSON text. A schema that is not Avro (a
    /// `schemaType` other than `AVRO`) is [`RegistryError::NotAvro`].
    pub async fn schema_by_id(&self, id: u32) -> Result<String, RegistryError> {
        let answer = self.get(&format!("/schemas/ids/{id}")).await?;
        match answer["schemaType"].as_str() {
            None | Some("AVRO") => {}
            Some(other) => return Err(RegistryError::NotAvro(other.to_owned())),
        }
        answer["schema"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| RegistryError::Unexpected(format!("no schema in {answer}")))
    }

    /// Whether `schema` is compatible with `subject`'s latest version under the
    /// subject's compatibility level; a subject the registry does not have yet is
    /// compatible.
    pub async fn compatible(&self, subject: &str, schema: &str) -> Result<bool, RegistryError> {
        match self
            .post(
                &format!("/compatibility/subjects/{subject}/versions/latest"),
                schema,
            )
            .await
        {
            Ok(answer) => answer["is_compatible"]
                .as_bool()
                .ok_or_else(|| RegistryError::Unexpected(format!("no is_compatible in {answer}"))),
            Err(err) if matches!(err.code(), Some(40401 | 40402)) => Ok(true),
            Err(err) => Err(err),
        }
    }
}
