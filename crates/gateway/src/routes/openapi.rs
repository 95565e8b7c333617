//! The OpenAPI 3.1 document, derived from the code: the paths, methods, access, bodies, query
//! parameters and success answers come from the route table ([`crate::routes::routes`]), the
//! schemas from the public types themselves (`utoipa::ToSchema`, derived beside each type in
//! the protocol, domain, stats and engine crates behind their `openapi` feature). The error
//! answers follow from each route's shape and access, plus what its handler adds:
//!
//! - 400 `malformed_json` / `bad_request`: a route that takes a body, a query or path
//!   parameters;
//! - 401 and 403: per its [`Access`];
//! - 404: a route with path parameters;
//! - 409 and 412 (`If-Match`): PUT, PATCH and DELETE;
//! - 413, 415 and 422: a route that takes a body (422 also for a query);
//! - whatever the route lists itself (`Route::errors`: 409, 429, 503…).
//!
//! Every error answer carries the protocol's [`ErrorBody`].

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::Value;
use switchboard_protocol::errors::ErrorBody;
use utoipa::{
    openapi::{
        path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        schema::{ObjectBuilder, Type},
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
        tag::TagBuilder,
        ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, PathsBuilder, Ref, RefOr,
        Required, ResponseBuilder, Schema,
    },
    ToSchema,
};

use super::{routes, Access, Route};
use crate::hooks::{SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The named schemas of the components, in order of registration.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// Registers `T` (and everything it refers to) and answers a `$ref` to it.
pub fn register<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    let name = T::name().into_owned();
    if !schemas.iter().any(|(n, _)| *n == name) {
        T::schemas(schemas);
        schemas.push((name.clone(), T::schema()));
    }
    Ref::from_schema_name(name).into()
}

/// Plain text (Prometheus metrics, CSV).
pub fn text(_: &mut Schemas) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

/// A JSON object of any shape.
pub fn any_object(_: &mut Schemas) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Object).into()
}

/// What a status means, for the error answers' descriptions.
fn meaning(status: u16) -> &'static str {
    match status {
        400 => "malformed request: bad JSON, query or path parameter (code malformed_json or bad_request, or not_a_websocket)",
        401 => "no valid credentials (unauthorized, bad_signature, stale_request)",
        403 => "not allowed (forbidden; setup: setup_disabled, bad_setup_secret)",
        404 => "not found (not_found)",
        409 => "conflict: in use, duplicate, last admin, already set up, or the contact's state (code says which)",
        412 => "If-Match names another version (version_conflict)",
        413 => "the request body is too large (payload_too_large)",
        415 => "wrong Content-Type (unsupported_media_type)",
        422 => "invalid input; details.field names the field when known (invalid)",
        410 => "gone: the setup secret has expired (setup_expired)",
        429 => "too many attempts; details.retry_after_secs says when to try again (rate_limited)",
        503 => "a dependency is unavailable (unavailable)",
        _ => "error",
    }
}

/// The error statuses `r` can answer.
pub fn error_statuses(r: &Route) -> BTreeSet<u16> {
    let mut out: BTreeSet<u16> = r.errors.iter().copied().collect();
    let has_path_params = r.path.contains('{');
    if !r.body.is_empty() {
        out.extend([400, 413, 415, 422]);
    }
    if r.query.is_some() {
        out.extend([400, 422]);
    }
    if has_path_params {
        out.extend([400, 404]);
    }
    match r.access {
        Access::Public => {}
        Access::Integration => {
            out.insert(401);
        }
        Access::Roles(_) => {
            out.extend([401, 403]);
        }
        Access::Console | Access::Socket(_) => {
            // Not a WebSocket handshake: not_a_websocket.
            out.extend([400, 401, 403]);
        }
    }
    if matches!(r.method, Method::PUT | Method::PATCH | Method::DELETE) {
        out.extend([409, 412]);
    }
    out
}

fn http_method(m: &Method) -> HttpMethod {
    match *m {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Trace,
    }
}

fn operation_id(r: &Route) -> String {
    format!(
        "{}_{}",
        r.method.as_str().to_lowercase(),
        r.path
            .trim_start_matches('/')
            .replace(['/', '{', '}', '.', '-'], "_")
    )
}

/// The document as utoipa's model.
pub fn build() -> utoipa::openapi::OpenApi {
    let mut schemas = Schemas::new();
    let error = register::<ErrorBody>(&mut schemas);
    let mut paths = PathsBuilder::new().build();
    let mut tags = BTreeSet::new();
    for r in routes() {
        tags.insert(r.tag);
        let mut op = OperationBuilder::new()
            .summary(Some(r.summary))
            .tag(r.tag)
            .operation_id(Some(operation_id(&r)));
        for name in r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            let description = match (r.path, name) {
                ("/api/v1/cti/{token}", _) => {
                    "the integration's secret token (the CTI route's credential)"
                }
                (_, "user_id") => "a user's numeric id",
                (_, "contact_id") => "a contact's id (a UUID)",
                _ => "the record's id",
            };
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(description))
                    .schema(Some(ObjectBuilder::new().schema_type(
                        if name == "user_id" {
                            Type::Integer
                        } else {
                            Type::String
                        },
                    ))),
            );
        }
        if let Some(params) = r.query {
            for p in params() {
                op = op.parameter(p);
            }
        }
        if matches!(r.method, Method::PUT | Method::PATCH | Method::DELETE) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("If-Match")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some("the version (ETag) the change applies to; 412 if it is not the current one"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if r.access == Access::Integration && r.path.starts_with("/api/v1/hooks/") {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(TIMESTAMP_HEADER)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .description(Some("Unix seconds, within 5 minutes of the server's clock; signed with the body"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer))),
            );
        }
        if !r.body.is_empty() {
            let mut body = RequestBodyBuilder::new().required(Some(Required::True));
            for c in &r.body {
                let mut content = ContentBuilder::new();
                if let Some(schema) = c.schema {
                    content = content.schema(Some(schema(&mut schemas)));
                }
                body = body.content(c.media_type, content.build());
            }
            op = op.request_body(Some(body.build()));
        }
        for reply in &r.replies {
            let mut response = ResponseBuilder::new().description(reply.description);
            for c in &reply.content {
                let mut content = ContentBuilder::new();
                if let Some(schema) = c.schema {
                    content = content.schema(Some(schema(&mut schemas)));
                }
                response = response.content(c.media_type, content.build());
            }
            op = op.response(reply.status.to_string(), response.build());
        }
        for status in error_statuses(&r) {
            op = op.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(meaning(status))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(error.clone())).build(),
                    )
                    .build(),
            );
        }
        match r.access {
            Access::Public => {}
            Access::Integration => {
                if r.path.starts_with("/api/v1/hooks/") {
                    op = op.security(SecurityRequirement::new("hmac", Vec::<String>::new()));
                }
            }
            Access::Roles(_) | Access::Console | Access::Socket(_) => {
                op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
                // Or an API key that holds the route's scope.
                if let Some(scope) = r.scope {
                    op = op.security(SecurityRequirement::new("api_key", [scope.as_str()]));
                }
            }
        }
        let mut op = op.build();
        if let Access::Roles(roles) = r.access {
            let mut ext = utoipa::openapi::extensions::Extensions::default();
            ext.insert(
                "x-roles".into(),
                Value::from(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            );
            op.extensions = Some(ext);
        }
        paths.add_path_operation(r.path, vec![http_method(&r.method)], op);
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The session token from POST /api/v1/auth/login"))
                    .build(),
            ),
        )
        .security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key (`sbk_…`) from POST /api/v1/api-keys, sent as a bearer token. A route that keys may call lists the one scope it needs in its `api_key` requirement; user and key administration and the sockets take sessions only"))
                    .build(),
            ),
        )
        .security_scheme(
            "hmac",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                SIGNATURE_HEADER,
                "sha256=<hex HMAC-SHA256(integration secret, \"{x-switchboard-timestamp}.{body}\")>; the timestamp (Unix seconds) within 5 minutes. The CTI route carries the integration's token in its path instead (OpenAPI has no path credential scheme).",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Switchboard API")
                .version(env!("CARGO_PKG_VERSION"))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .tags(Some(
            tags.into_iter().map(|t| TagBuilder::new().name(t).build()),
        ))
        .build()
}

/// The document as JSON, as `GET /api/openapi.json` serves it.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(build()).unwrap_or(Value::Null);
    distribute_flattened_unions(&mut doc);
    doc
}

/// A struct that flattens a tagged enum (`#[serde(flatten)]`) is derived as
/// `allOf: [{$ref: Enum}, {own fields}]` with the enum a `oneOf` of its variants. That is
/// right, but client generators cannot take `allOf` of a union; rewritten as the equivalent
/// `oneOf: [allOf: [variant, {own fields}], …]`, one object per variant, they can.
fn distribute_flattened_unions(doc: &mut Value) {
    // A struct that flattens such a struct (which the first pass makes a union) is rewritten
    // by the next one.
    while distribute_once(doc) {}
}

/// One pass of [`distribute_flattened_unions`]; whether it rewrote anything.
fn distribute_once(doc: &mut Value) -> bool {
    let mut rewrote = false;
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return false;
    };
    let unions: std::collections::BTreeMap<String, Vec<Value>> = schemas
        .iter()
        .filter_map(|(name, s)| {
            let variants = s.get("oneOf")?.as_array()?;
            Some((format!("#/components/schemas/{name}"), variants.clone()))
        })
        .collect();
    for schema in schemas.values_mut() {
        let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
            continue;
        };
        let Some(at) = parts.iter().position(|p| {
            p.get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| unions.contains_key(r))
        }) else {
            continue;
        };
        let reference = parts[at]["$ref"].as_str().unwrap_or_default().to_owned();
        let rest: Vec<Value> = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, p)| p.clone())
            .collect();
        let variants: Vec<Value> = unions[&reference]
            .iter()
            .map(|v| {
                let mut all = vec![v.clone()];
                all.extend(rest.iter().cloned());
                serde_json::json!({ "allOf": all })
            })
            .collect();
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("allOf");
            obj.insert("oneOf".into(), Value::from(variants));
            rewrote = true;
        }
    }
    rewrote
}
