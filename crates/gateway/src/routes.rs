//! The route table: one list drives the router, the role checks and the OpenAPI document,
//! so they cannot disagree.

use std::time::Instant;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post, put, MethodRouter},
    Json, Router,
};
use serde_json::{json, Map, Value};
use switchboard_app::accounts::Role;
use switchboard_domain::{
    Agent, AwayReason, Disposition, GreetingScript, Integration, QueueConfig, Skill,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    auth, callback, client, console, documents, error::ApiError, hooks, live, ops, pbx, reports,
    staffing, state::AppState, supervisor, users,
};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    Roles(&'static [Role]),
    /// No session: the request is signed with an integration's secret (or carries its
    /// token); refused with 401 otherwise.
    Integration,
    /// A session of a user linked to an agent, checked by the handler (the token may also
    /// come as `?token=`, for browsers' WebSockets): 401 without one, 403 for a user who is
    /// not an agent.
    Console,
    /// A WebSocket for these roles, checked by the handler (token in the header or `?token=`).
    Socket(&'static [Role]),
}

pub const ADMIN: Access = Access::Roles(&[Role::Admin]);
pub const STAFF: Access = Access::Roles(&[Role::Supervisor, Role::Admin]);
pub const SIGNED_IN: Access = Access::Roles(&[Role::Agent, Role::Supervisor, Role::Admin]);

/// One route: its method and path, who may call it, what it does, and its handler.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub tag: &'static str,
    /// The request body's schema name in the OpenAPI components, if it takes one.
    pub body: Option<&'static str>,
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($method:ident $path:expr, $access:expr, $tag:literal, $summary:expr, $body:expr, $handler:expr) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            summary: $summary,
            tag: $tag,
            body: $body,
            handler: || $handler,
        }
    };
}

/// CRUD routes of one configuration kind; reads for `read`, writes for admins.
macro_rules! documents {
    ($t:ty, $path:literal, $item:literal, $read:expr, $name:literal) => {
        [
            route!(GET $path, $read, "configuration", concat!("List ", $name, "s"), None, get(documents::list::<$t>)),
            route!(GET $item, $read, "configuration", concat!("Get one ", $name, " (ETag = version)"), None, get(documents::get_one::<$t>)),
            route!(PUT $item, ADMIN, "configuration", concat!("Create or replace a ", $name, " (If-Match: version for optimistic concurrency)"), Some($name), put(documents::put::<$t>)),
            route!(DELETE $item, ADMIN, "configuration", concat!("Delete a ", $name, " (If-Match optional)"), None, delete(documents::delete::<$t>)),
        ]
    };
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    let mut all = vec![
        route!(GET "/healthz", Access::Public, "operations", "Liveness", None, get(ops::healthz)),
        route!(GET "/readyz", Access::Public, "operations", "Readiness: database and Redis answer", None, get(ops::readyz)),
        route!(GET "/metrics", Access::Public, "operations", "Prometheus metrics", None, get(ops::metrics)),
        route!(GET "/api/openapi.json", Access::Public, "operations", "This document", None, get(openapi_handler)),
        route!(POST "/api/v1/auth/setup", Access::Public, "auth", "Create the first admin with the one-time setup secret", Some("SetupRequest"), post(auth::setup)),
        route!(POST "/api/v1/auth/login", Access::Public, "auth", "Sign in; returns a session token", Some("LoginRequest"), post(auth::login)),
        route!(POST "/api/v1/auth/logout", SIGNED_IN, "auth", "Sign out (revokes the token)", None, post(auth::logout)),
        route!(GET "/api/v1/agent/ws", Access::Console, "live", "The agent console's WebSocket (session token in Authorization or ?token=; ?resume_from=<seq>)", None, get(console::connect)),
        route!(GET "/api/v1/supervisor/ws", Access::Socket(&[Role::Supervisor, Role::Admin]), "live", "The supervisor's WebSocket: a snapshot of queues and agents, then deltas at most once a second; commands", None, get(supervisor::connect)),
        route!(GET "/api/v1/auth/me", SIGNED_IN, "auth", "Who am I", None, get(auth::me)),
        route!(GET "/api/v1/users", ADMIN, "users", "List users", None, get(users::list)),
        route!(POST "/api/v1/users", ADMIN, "users", "Create a user", Some("NewUser"), post(users::create)),
        route!(GET "/api/v1/users/{user_id}", ADMIN, "users", "Get a user (ETag = version)", None, get(users::get_one)),
        route!(PATCH "/api/v1/users/{user_id}", ADMIN, "users", "Change a user (If-Match optional)", Some("UserPatch"), patch(users::patch)),
        route!(DELETE "/api/v1/users/{user_id}", ADMIN, "users", "Delete a user", None, delete(users::delete)),
        route!(GET "/api/v1/queues/{queue_id}/snapshot", STAFF, "live", "A queue now: waiting, ringing, longest wait, agents by state", None, get(live::queue_snapshot)),
        route!(GET "/api/v1/contacts/{contact_id}/position", STAFF, "live", "A waiting contact's position and estimated wait", None, get(live::position)),
        route!(GET "/api/v1/events", STAFF, "live", "The event log, filtered and paginated", None, get(live::events)),
        route!(GET "/api/v1/reports", STAFF, "reports", "Service level, ASA, abandonment, AHT, FCR, CSAT, NPS, agent time, callbacks for a range (?from&to ms, queue, agent, channel, interval=15m|30m|60m|day, utc_offset_minutes, sl_target_secs, sl_formula, short_abandon_secs, callback_due_secs, format=json|csv); ranges on 15-minute boundaries (up to 366 days) come from the interval aggregates, others from the event log (up to 93 days)", None, get(reports::report)),
        route!(POST "/api/v1/staffing/erlang-c", STAFF, "staffing", "Agents needed for a forecast (Erlang C): agents, scheduled agents after shrinkage, predicted SL, ASA, occupancy, P(wait)", Some("ErlangCInput"), post(staffing::erlang_c)),
        route!(POST "/api/v1/staffing/erlang-a", STAFF, "staffing", "Agents needed when callers hang up (Erlang A): adds patience and abandonment", Some("ErlangAInput"), post(staffing::erlang_a)),
        route!(POST "/api/v1/surveys", STAFF, "reports", "A post-contact survey answer (csat5: 1-5, nps10: 0-10) for CSAT and NPS", Some("SurveyAnswer"), post(hooks::survey)),
        route!(POST "/api/v1/contacts", STAFF, "live", "Create a contact (chat, e-mail, ticket…) in a queue", Some("ContactRequest"), post(hooks::create_contact)),
        route!(POST "/api/v1/contacts/{contact_id}/callback", STAFF, "live", "Turn a waiting call or chat into a callback that keeps its place (web form, chat widget's \"call me instead\"): 200 with its state, number, due and position; 404 unknown contact, 409 not_waiting / wrong_channel / already_callback, 422 bad number or due", Some("CallbackRequest"), post(callback::create)),
        route!(POST "/api/v1/hooks/{integration_id}", Access::Integration, "telephony", "A signed call event from a PBX/IVR (call.arrived, call.answered, call.held, call.resumed, call.transferred, call.ended, call.callback_requested)", Some("CallEvent"), post(hooks::generic)),
        route!(GET "/api/v1/integrations/{id}/deliveries", ADMIN, "telephony", "Outbound PBX webhooks of an integration (call.ring, call.connect, call.cancel, call.dial) and how their delivery went, newest first (?status=pending|delivered|failed, limit)", None, get(pbx::deliveries)),
        route!(POST "/api/v1/cti/{token}", Access::Integration, "telephony", "Zammad generic CTI (newCall, answer, hangup), JSON or form-encoded", Some("CtiEvent"), post(hooks::cti)),
    ];
    all.extend(documents!(
        QueueConfig,
        "/api/v1/queues",
        "/api/v1/queues/{id}",
        STAFF,
        "queue"
    ));
    all.extend(documents!(
        Agent,
        "/api/v1/agents",
        "/api/v1/agents/{id}",
        STAFF,
        "agent"
    ));
    all.extend(documents!(
        Skill,
        "/api/v1/skills",
        "/api/v1/skills/{id}",
        STAFF,
        "skill"
    ));
    all.extend(documents!(
        GreetingScript,
        "/api/v1/scripts",
        "/api/v1/scripts/{id}",
        SIGNED_IN,
        "script"
    ));
    all.extend(documents!(
        Disposition,
        "/api/v1/dispositions",
        "/api/v1/dispositions/{id}",
        SIGNED_IN,
        "disposition"
    ));
    all.extend(documents!(
        AwayReason,
        "/api/v1/reason-codes",
        "/api/v1/reason-codes/{id}",
        SIGNED_IN,
        "reason_code"
    ));
    all.extend(documents!(
        Integration,
        "/api/v1/integrations",
        "/api/v1/integrations/{id}",
        ADMIN,
        "integration"
    ));
    all
}

/// The application: every route with its role check, JSON fallbacks, request ids, tracing,
/// metrics, a body limit and panic containment.
pub fn router(state: AppState) -> Router {
    let mut app: Router<AppState> = Router::new();
    for r in routes() {
        let mut method_router = (r.handler)();
        if let Access::Roles(roles) = r.access {
            method_router = method_router.route_layer(middleware::from_fn_with_state(
                state.clone(),
                move |s: State<AppState>, req: Request, next: Next| {
                    auth::require(s, roles, req, next)
                },
            ));
        }
        app = app.route(r.path, method_router);
    }
    let request_id = HeaderName::from_static("x-request-id");
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(state.clone(), client::remember))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, user = tracing::field::Empty, client = tracing::field::Empty)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Counts requests and their latency per matched route (the template, not the raw path).
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    state
        .metrics
        .observe_request(&route, &method, res.status().as_u16(), start.elapsed());
    res
}

async fn openapi_handler() -> Json<Value> {
    Json(openapi())
}

/// The OpenAPI 3.1 document, built from the route table.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for r in routes() {
        let mut op = Map::new();
        op.insert("summary".into(), json!(r.summary));
        op.insert("tags".into(), json!([r.tag]));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}_{}",
                r.method.as_str().to_lowercase(),
                r.path
                    .trim_start_matches('/')
                    .replace(['/', '{', '}', '.', '-'], "_")
            )),
        );
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            op.insert("parameters".into(), json!(params));
        }
        if let Some(body) = r.body {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } } }),
            );
        }
        let mut responses = Map::new();
        let ok = match (r.method.clone(), r.path) {
            (Method::DELETE, _) | (Method::POST, "/api/v1/auth/logout") => "204",
            (Method::POST, "/api/v1/users" | "/api/v1/auth/setup") => "201",
            _ => "200",
        };
        responses.insert(ok.into(), json!({ "description": "success" }));
        let error = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
        let mut errors = vec![
            ("400", "malformed request"),
            ("422", "invalid input (details.field names it)"),
        ];
        match r.access {
            Access::Public => {}
            Access::Integration => {
                errors.push(("401", "wrong signature, stale timestamp or unknown token"))
            }
            Access::Roles(_) | Access::Console | Access::Socket(_) => {
                errors.push(("401", "no valid session token"));
                errors.push(("403", "role not allowed"));
            }
        }
        if r.path.contains('{') {
            errors.push(("404", "not found"));
        }
        if matches!(r.method, Method::PUT | Method::PATCH | Method::DELETE) {
            errors.push(("409", "conflict (in use, duplicate, last admin)"));
            errors.push(("412", "If-Match version does not match"));
        }
        if r.path == "/api/v1/contacts/{contact_id}/callback" {
            errors.push((
                "409",
                "not a waiting call or chat (code not_waiting, wrong_channel or already_callback)",
            ));
        }
        if r.path == "/api/v1/auth/login" {
            errors.push(("429", "too many sign-in attempts"));
        }
        for (code, text) in errors {
            let mut e = error.clone();
            e["description"] = json!(text);
            responses.insert(code.into(), e);
        }
        op.insert("responses".into(), Value::Object(responses));
        if r.access == Access::Integration {
            op.insert("security".into(), json!([{ "hmac": [] }]));
        }
        if matches!(r.access, Access::Console | Access::Socket(_)) {
            op.insert("security".into(), json!([{ "bearer": [] }]));
        }
        if let Access::Roles(roles) = r.access {
            op.insert("security".into(), json!([{ "bearer": [] }]));
            op.insert(
                "x-roles".into(),
                json!(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            );
        }
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.as_str().to_lowercase()] = Value::Object(op);
    }
    let document = |what: &str| json!({ "type": "object", "description": format!("A {what}, as in crates/domain (README: API).") });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Switchboard API", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "The token from POST /api/v1/auth/login" },
                "hmac": { "type": "apiKey", "in": "header", "name": "x-switchboard-signature", "description": "sha256=<hex HMAC-SHA256(integration secret, \"{x-switchboard-timestamp}.{body}\")>; the timestamp (Unix seconds) within 5 minutes. The CTI route carries the integration's token in its path instead." }
            },
            "schemas": {
                "Error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {
                        "code": { "type": "string", "description": "stable, machine-readable" },
                        "message": { "type": "string" },
                        "details": { "type": "object" }
                    }
                },
                "LoginRequest": {
                    "type": "object", "required": ["username", "password"], "additionalProperties": false,
                    "properties": { "username": { "type": "string" }, "password": { "type": "string" } }
                },
                "SetupRequest": {
                    "type": "object", "required": ["setup_secret", "username", "display_name", "password"], "additionalProperties": false,
                    "properties": {
                        "setup_secret": { "type": "string" }, "username": { "type": "string" },
                        "display_name": { "type": "string" }, "password": { "type": "string", "minLength": 10 }
                    }
                },
                "NewUser": {
                    "type": "object", "required": ["username", "display_name", "role", "password"], "additionalProperties": false,
                    "properties": {
                        "username": { "type": "string" }, "display_name": { "type": "string" },
                        "role": { "enum": ["agent", "supervisor", "admin"] },
                        "password": { "type": "string", "minLength": 10 }, "agent_id": { "type": ["string", "null"] }
                    }
                },
                "UserPatch": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "display_name": { "type": "string" }, "role": { "enum": ["agent", "supervisor", "admin"] },
                        "password": { "type": "string", "minLength": 10 }, "agent_id": { "type": ["string", "null"] },
                        "disabled": { "type": "boolean" }
                    }
                },
                "ErlangCInput": {
                    "type": "object", "required": ["arrivals", "interval_secs", "aht_secs", "target_answer_secs", "target_service_level"],
                    "properties": {
                        "arrivals": { "type": "number", "description": "contacts expected in the interval" },
                        "interval_secs": { "type": "number", "description": "e.g. 1800" },
                        "aht_secs": { "type": "number", "description": "average handle time" },
                        "target_answer_secs": { "type": "number", "description": "the 20 in 80/20" },
                        "target_service_level": { "type": "number", "description": "the 0.8 in 80/20" },
                        "max_occupancy": { "type": ["number", "null"] },
                        "shrinkage": { "type": "number", "description": "0..1, default 0" }
                    }
                },
                "ErlangAInput": {
                    "type": "object", "required": ["arrivals", "interval_secs", "aht_secs", "patience_secs", "target_answer_secs", "target_service_level"],
                    "properties": {
                        "arrivals": { "type": "number" }, "interval_secs": { "type": "number" }, "aht_secs": { "type": "number" },
                        "patience_secs": { "type": "number", "description": "mean time callers wait before hanging up" },
                        "target_answer_secs": { "type": "number" }, "target_service_level": { "type": "number" },
                        "max_abandonment": { "type": ["number", "null"] }, "shrinkage": { "type": "number" }
                    }
                },
                "SurveyAnswer": {
                    "type": "object", "required": ["contact_id", "scale", "score"], "additionalProperties": false,
                    "properties": {
                        "contact_id": { "type": "string", "format": "uuid" },
                        "scale": { "enum": ["csat5", "nps10"] },
                        "score": { "type": "integer", "minimum": 0, "maximum": 10 }
                    }
                },
                "ContactRequest": {
                    "type": "object", "required": ["queue", "channel"], "additionalProperties": false,
                    "properties": {
                        "queue": { "type": "string" }, "channel": { "enum": ["voice", "chat", "email", "ticket", "callback"] },
                        "skills": { "type": "array", "items": { "type": "object", "properties": { "skill": { "type": "string" }, "min_level": { "type": "integer", "minimum": 1, "maximum": 10 } } } },
                        "tier": { "enum": ["standard", "silver", "gold", "platinum"] }, "urgency": { "type": "integer", "minimum": 0, "maximum": 9 },
                        "attributes": { "type": "object", "additionalProperties": { "type": "string" } }
                    }
                },
                "CallbackRequest": {
                    "type": "object", "required": ["number"], "additionalProperties": false,
                    "properties": {
                        "number": { "type": "string", "description": "the number to call back: optional leading +, 3 to 20 digits, spaces - . ( ) between; kept as + and digits" },
                        "due": { "type": ["integer", "null"], "description": "the promised time, ms since the epoch: later than now, at most 7 days ahead" }
                    }
                },
                "CallEvent": {
                    "type": "object", "required": ["event_id", "type", "call_id"],
                    "properties": {
                        "event_id": { "type": "string", "description": "unique per delivery; a repeat gets the first answer" },
                        "type": { "enum": ["call.arrived", "call.answered", "call.held", "call.resumed", "call.transferred", "call.ended", "call.callback_requested"] },
                        "call_id": { "type": "string" },
                        "queue": { "type": "string", "description": "call.arrived: the queue the IVR chose; call.transferred: target queue" },
                        "agent": { "type": "string", "description": "call.answered: who picked up; call.transferred: target agent" },
                        "caller": { "type": "string" }, "dialed": { "type": "string" }, "language": { "type": "string" },
                        "customer": { "type": "string" }, "tier": { "type": "string" }, "urgency": { "type": "integer" },
                        "skills": { "type": "array" }, "ivr": { "type": "object" }, "cause": { "type": "string" },
                        "number": { "type": "string", "description": "call.callback_requested: the number to call back" },
                        "due": { "type": "integer", "description": "call.callback_requested: the promised time, ms since the epoch" }
                    }
                },
                "CtiEvent": {
                    "type": "object", "required": ["event", "callId"],
                    "properties": {
                        "event": { "enum": ["newCall", "answer", "hangup"] }, "callId": { "type": "string" },
                        "direction": { "enum": ["in", "out"] }, "from": { "type": "string" },
                        "to": { "type": "string", "description": "the PBX queue's name, unless queue is given" },
                        "queue": { "type": "string" }, "user": { "type": "string" }, "answeringNumber": { "type": "string" },
                        "cause": { "enum": ["normalClearing", "busy", "cancel", "noAnswer", "congestion", "notFound", "forwarded"] }
                    }
                },
                "queue": document("queue's routing settings (QueueConfig)"),
                "agent": document("agent (Agent: profile with skills and capacity, name, number, extension, team)"),
                "skill": document("skill (name, description)"),
                "script": document("greeting script (script_id, queue, language, template)"),
                "disposition": document("disposition code (code, label, resolves)"),
                "reason_code": document("away reason (code, label)"),
                "integration": document("telephony integration (integration_id, kind, secret, callback_url)")
            }
        }
    })
}
