//! The route table: one list drives the router, the role and scope checks and the OpenAPI
//! document ([`openapi`]), so they cannot disagree.

pub mod openapi;

use std::{
    borrow::Cow,
    collections::HashSet,
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post, put, MethodRouter},
    Json, Router,
};
use serde_json::Value;
use switchboard_app::{accounts::Role, views::QueueSnapshot};
use switchboard_domain::{
    Agent, AwayReason, Disposition, GreetingScript, Integration, QueueConfig, Skill,
};
use switchboard_protocol::{
    api_keys::{ApiKeyCreated, ApiKeyView, NewApiKey, Scope},
    contacts::{CallbackPlaced, CallbackRequest, ContactCreated, ContactRequest, Position},
    customers::{
        CustomerPage, CustomerPatch, CustomerQuery, CustomerView, Identity, IdentityQuery,
        MergeRequest, NewCustomer,
    },
    deliveries::{Deliveries, DeliveriesQuery},
    events::{EventPage, EventQuery},
    hooks::{
        cti::{CtiAnswer, CtiEvent},
        Delivery, HookAnswer,
    },
    ops::{Health, Readiness},
    reports::{Dated, ReportAnswer},
    surveys::SurveyRequest,
    users::{LoginRequest, LoginResponse, NewUser, SetupRequest, UserPatch, UserView},
};
use switchboard_stats::{ErlangAInput, ErlangAStaffing, ErlangCInput, ErlangCStaffing, Report};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use utoipa::{
    openapi::{
        path::{Parameter, ParameterIn},
        RefOr, Schema,
    },
    IntoParams, ToSchema,
};

use crate::{
    api_keys, auth, callback, client, console, customers, documents, error::ApiError, hooks, live,
    ops, pbx, reports, staffing, state::AppState, supervisor, users,
};
use crate::{metrics::Metrics, state::Settings};

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

/// A schema in the OpenAPI components, registered with everything it refers to; answers the
/// `$ref` to it (or the schema itself, for types without a name of their own).
pub type SchemaFn = fn(&mut openapi::Schemas) -> RefOr<Schema>;
/// The query parameters of a route.
pub type ParamsFn = fn() -> Vec<Parameter>;

/// What a route takes or answers in one content type; `None`: a body without a schema.
#[derive(Debug, Clone, Copy)]
pub struct Content {
    pub media_type: &'static str,
    pub schema: Option<SchemaFn>,
}

/// One success answer of a route.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub description: &'static str,
    pub content: Vec<Content>,
}

/// One route: its method and path, who may call it, what it does, what it takes and answers,
/// and its handler. The router, the role checks and the OpenAPI document ([`openapi`])
/// are all built from these.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    /// For [`Access::Roles`] routes and the supervisor's socket, which API keys may call
    /// too: the scope a key needs. `None`: signed-in people only.
    pub scope: Option<Scope>,
    pub summary: &'static str,
    pub tag: &'static str,
    /// The request body, in each content type it is accepted in.
    pub body: Vec<Content>,
    pub query: Option<ParamsFn>,
    /// The success answers (2xx).
    pub replies: Vec<Reply>,
    /// Error statuses beyond those that follow from the access, the body, the query and the
    /// path parameters ([`openapi`] adds those).
    pub errors: &'static [u16],
    pub handler: fn() -> MethodRouter<AppState>,
}

/// The schema of `T`: registered with what it refers to, answered as a `$ref`.
pub fn schema_of<T: ToSchema>(schemas: &mut openapi::Schemas) -> RefOr<Schema> {
    openapi::register::<T>(schemas)
}

/// An array of `T`.
pub fn array_of<T: ToSchema>(schemas: &mut openapi::Schemas) -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(openapi::register::<T>(schemas))
        .into()
}

/// The reports' answer: a generic type, whose parameter utoipa does not register itself.
fn report_answer(schemas: &mut openapi::Schemas) -> RefOr<Schema> {
    schema_of::<Report>(schemas);
    schema_of::<Dated<Report>>(schemas);
    schema_of::<ReportAnswer<Dated<Report>>>(schemas)
}

/// The query parameters of `T`.
pub fn params_of<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

const JSON: &str = "application/json";

impl Route {
    fn new(
        method: Method,
        path: &'static str,
        access: Access,
        tag: &'static str,
        summary: &'static str,
        handler: fn() -> MethodRouter<AppState>,
    ) -> Self {
        Self {
            method,
            path,
            access,
            scope: None,
            summary,
            tag,
            body: Vec::new(),
            query: None,
            replies: Vec::new(),
            errors: &[],
            handler,
        }
    }

    /// API keys holding `scope` may call it too.
    fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Takes a JSON body of this schema.
    fn json(mut self, schema: SchemaFn) -> Self {
        self.body.push(Content {
            media_type: JSON,
            schema: Some(schema),
        });
        self
    }

    /// Also takes the body in this content type.
    fn also_as(mut self, media_type: &'static str, schema: SchemaFn) -> Self {
        self.body.push(Content {
            media_type,
            schema: Some(schema),
        });
        self
    }

    fn query(mut self, params: ParamsFn) -> Self {
        self.query = Some(params);
        self
    }

    /// Answers `status` with a JSON body of this schema.
    fn ok(mut self, status: u16, description: &'static str, schema: SchemaFn) -> Self {
        self.replies.push(Reply {
            status,
            description,
            content: vec![Content {
                media_type: JSON,
                schema: Some(schema),
            }],
        });
        self
    }

    /// Answers `status` in these content types.
    fn ok_as(mut self, status: u16, description: &'static str, content: Vec<Content>) -> Self {
        self.replies.push(Reply {
            status,
            description,
            content,
        });
        self
    }

    /// Answers `status` without a body.
    fn empty(mut self, status: u16, description: &'static str) -> Self {
        self.replies.push(Reply {
            status,
            description,
            content: Vec::new(),
        });
        self
    }

    /// Also answers these error statuses (with the error body).
    fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }
}

macro_rules! route {
    ($method:ident $path:expr, $access:expr, $tag:literal, $summary:expr, $handler:expr) => {
        Route::new(Method::$method, $path, $access, $tag, $summary, || $handler)
    };
}

/// CRUD routes of one configuration kind; reads for `read` (and keys with `$scopes.0`),
/// writes for admins (and keys with `$scopes.1`).
macro_rules! documents {
    ($t:ty, $path:literal, $item:literal, $read:expr, $scopes:expr, $name:literal) => {
        [
            route!(GET $path, $read, "configuration", concat!("List ", $name, "s"), get(documents::list::<$t>))
                .scope($scopes.0)
                .ok(200, concat!("every ", $name), array_of::<$t>),
            route!(GET $item, $read, "configuration", concat!("Get one ", $name, " (ETag = version)"), get(documents::get_one::<$t>))
                .scope($scopes.0)
                .ok(200, concat!("the ", $name), schema_of::<$t>),
            route!(PUT $item, ADMIN, "configuration", concat!("Create or replace a ", $name, " (If-Match: version for optimistic concurrency)"), put(documents::put::<$t>))
                .scope($scopes.1)
                .json(schema_of::<$t>)
                .ok(200, "replaced", schema_of::<$t>)
                .ok(201, "created", schema_of::<$t>),
            route!(DELETE $item, ADMIN, "configuration", concat!("Delete a ", $name, " (If-Match optional)"), delete(documents::delete::<$t>))
                .scope($scopes.1)
                .empty(204, "deleted"),
        ]
    };
}

/// The scopes of the configuration kinds, and of the integrations (which hold secrets).
const CONFIGURATION: (Scope, Scope) = (Scope::ConfigurationRead, Scope::ConfigurationWrite);
const INTEGRATIONS: (Scope, Scope) = (Scope::IntegrationsRead, Scope::IntegrationsWrite);

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    let mut all = vec![
        route!(GET "/healthz", Access::Public, "operations", "Liveness", get(ops::healthz))
            .ok(200, "alive", schema_of::<Health>),
        route!(GET "/readyz", Access::Public, "operations", "Readiness: database and Redis answer", get(ops::readyz))
            .ok(200, "ready", schema_of::<Readiness>)
            .errors(&[503]),
        route!(GET "/metrics", Access::Public, "operations", "Prometheus metrics", get(ops::metrics))
            .ok_as(200, "OpenMetrics text (Prometheus reads it)", vec![Content { media_type: "application/openmetrics-text", schema: Some(openapi::text) }]),
        route!(GET "/api/openapi.json", Access::Public, "operations", "This document", get(openapi_handler))
            .ok(200, "the OpenAPI 3.1 document", openapi::any_object),
        route!(POST "/api/v1/auth/setup", Access::Public, "auth", "Create the first admin with the one-time setup secret", post(auth::setup))
            .json(schema_of::<SetupRequest>)
            .ok(201, "the first admin", schema_of::<UserView>)
            .errors(&[403, 409, 410, 429]),
        route!(POST "/api/v1/auth/login", Access::Public, "auth", "Sign in; returns a session token", post(auth::login))
            .json(schema_of::<LoginRequest>)
            .ok(200, "signed in", schema_of::<LoginResponse>)
            .errors(&[401, 429]),
        route!(POST "/api/v1/auth/logout", SIGNED_IN, "auth", "Sign out (revokes the token)", post(auth::logout))
            .empty(204, "signed out"),
        route!(GET "/api/v1/agent/ws", Access::Console, "live", "The agent console's WebSocket (session token in Authorization or ?token=; ?resume_from=<seq>)", get(console::connect))
            .query(params_of::<console::ConnectParams>)
            .empty(101, "switching to the WebSocket protocol"),
        route!(GET "/api/v1/supervisor/ws", Access::Socket(&[Role::Supervisor, Role::Admin]), "live", "The supervisor's WebSocket: a snapshot of queues and agents, then deltas at most once a second; commands (an API key with live:read watches read-only: a wallboard)", get(supervisor::connect))
            .scope(Scope::LiveRead)
            .query(params_of::<supervisor::ConnectParams>)
            .empty(101, "switching to the WebSocket protocol"),
        route!(GET "/api/v1/auth/me", SIGNED_IN, "auth", "Who am I", get(auth::me))
            .ok(200, "the signed-in user", schema_of::<UserView>),
        route!(GET "/api/v1/users", ADMIN, "users", "List users", get(users::list))
            .ok(200, "every user", array_of::<UserView>),
        route!(POST "/api/v1/users", ADMIN, "users", "Create a user", post(users::create))
            .json(schema_of::<NewUser>)
            .ok(201, "created", schema_of::<UserView>)
            .errors(&[409]),
        route!(GET "/api/v1/users/{user_id}", ADMIN, "users", "Get a user (ETag = version)", get(users::get_one))
            .ok(200, "the user", schema_of::<UserView>),
        route!(PATCH "/api/v1/users/{user_id}", ADMIN, "users", "Change a user (If-Match optional)", patch(users::patch))
            .json(schema_of::<UserPatch>)
            .ok(200, "changed", schema_of::<UserView>),
        route!(DELETE "/api/v1/users/{user_id}", ADMIN, "users", "Delete a user", delete(users::delete))
            .empty(204, "deleted"),
        route!(GET "/api/v1/api-keys", ADMIN, "users", "List API keys (revoked ones too); never their secrets", get(api_keys::list))
            .ok(200, "every API key", array_of::<ApiKeyView>),
        route!(POST "/api/v1/api-keys", ADMIN, "users", "Create an API key for a service, with its scopes: the key is in this answer only", post(api_keys::create))
            .json(schema_of::<NewApiKey>)
            .ok(201, "created: `key` is shown this once", schema_of::<ApiKeyCreated>)
            .errors(&[409]),
        route!(GET "/api/v1/api-keys/{api_key_id}", ADMIN, "users", "Get an API key", get(api_keys::get_one))
            .ok(200, "the API key", schema_of::<ApiKeyView>),
        route!(DELETE "/api/v1/api-keys/{api_key_id}", ADMIN, "users", "Revoke an API key (at once, on every instance; the record stays)", delete(api_keys::revoke))
            .ok(200, "revoked", schema_of::<ApiKeyView>),
        route!(GET "/api/v1/customers", SIGNED_IN, "customers", "List or search customers (live ones, by id): by name prefix, or by a phone number in any spelling, an e-mail address in any case or an external reference; keyset pages (after, limit)", get(customers::list))
            .scope(Scope::CustomersRead)
            .query(params_of::<CustomerQuery>)
            .ok(200, "a page of customers", schema_of::<CustomerPage>),
        route!(POST "/api/v1/customers", STAFF, "customers", "Create a customer (numbered C-000123) with its identities: 409 identity_taken if another customer holds one", post(customers::create))
            .scope(Scope::CustomersWrite)
            .json(schema_of::<NewCustomer>)
            .ok(201, "created (ETag = version)", schema_of::<CustomerView>)
            .errors(&[409]),
        route!(GET "/api/v1/customers/{customer_id}", SIGNED_IN, "customers", "Get a customer (ETag = version); a merged customer answers the one it was merged into", get(customers::get_one))
            .scope(Scope::CustomersRead)
            .ok(200, "the customer (or its survivor)", schema_of::<CustomerView>),
        route!(PATCH "/api/v1/customers/{customer_id}", STAFF, "customers", "Change a customer's name, tier, language or notes (If-Match optional): 409 merged", patch(customers::patch))
            .scope(Scope::CustomersWrite)
            .json(schema_of::<CustomerPatch>)
            .ok(200, "changed", schema_of::<CustomerView>)
            .errors(&[409]),
        route!(POST "/api/v1/customers/{customer_id}/identities", STAFF, "customers", "Add a phone number, e-mail address or external reference (normalised): 409 identity_taken / merged", post(customers::add_identity))
            .scope(Scope::CustomersWrite)
            .json(schema_of::<Identity>)
            .ok(200, "the customer with the identity", schema_of::<CustomerView>)
            .errors(&[409]),
        route!(DELETE "/api/v1/customers/{customer_id}/identities", STAFF, "customers", "Remove an identity (kind and value in any spelling; If-Match optional): 404 if the customer does not hold it", delete(customers::remove_identity))
            .scope(Scope::CustomersWrite)
            .query(params_of::<IdentityQuery>)
            .ok(200, "the customer without the identity", schema_of::<CustomerView>)
            .errors(&[409]),
        route!(POST "/api/v1/customers/{customer_id}/merge", STAFF, "customers", "Merge the duplicate `from` into this customer: its identities move here and reading it answers this one; 409 merged if either was merged already", post(customers::merge))
            .scope(Scope::CustomersWrite)
            .json(schema_of::<MergeRequest>)
            .ok(200, "the surviving customer", schema_of::<CustomerView>)
            .errors(&[409]),
        route!(GET "/api/v1/queues/{queue_id}/snapshot", STAFF, "live", "A queue now: waiting, ringing, longest wait, agents by state", get(live::queue_snapshot))
            .scope(Scope::LiveRead)
            .ok(200, "the queue now", schema_of::<QueueSnapshot>),
        route!(GET "/api/v1/contacts/{contact_id}/position", STAFF, "live", "A waiting contact's position and estimated wait", get(live::position))
            .scope(Scope::LiveRead)
            .ok(200, "where it waits", schema_of::<Position>),
        route!(GET "/api/v1/events", STAFF, "live", "The event log, filtered and paginated", get(live::events))
            .scope(Scope::ReportsRead)
            .query(params_of::<EventQuery>)
            .ok(200, "a page of events", schema_of::<EventPage>),
        route!(GET "/api/v1/reports", STAFF, "reports", "Service level, ASA, abandonment, AHT, FCR, CSAT, NPS, agent time, callbacks for a range; ranges on 15-minute boundaries (up to 366 days) come from the interval aggregates, others from the event log (up to 93 days)", get(reports::report))
            .scope(Scope::ReportsRead)
            .query(params_of::<reports::ReportParams>)
            .ok_as(200, "the reports: JSON, or CSV with format=csv", vec![
                Content { media_type: JSON, schema: Some(report_answer) },
                Content { media_type: "text/csv", schema: Some(openapi::text) },
            ]),
        route!(POST "/api/v1/staffing/erlang-c", STAFF, "staffing", "Agents needed for a forecast (Erlang C): agents, scheduled agents after shrinkage, predicted SL, ASA, occupancy, P(wait)", post(staffing::erlang_c))
            .scope(Scope::ReportsRead)
            .json(schema_of::<ErlangCInput>)
            .ok(200, "the staffing", schema_of::<ErlangCStaffing>),
        route!(POST "/api/v1/staffing/erlang-a", STAFF, "staffing", "Agents needed when callers hang up (Erlang A): adds patience and abandonment", post(staffing::erlang_a))
            .scope(Scope::ReportsRead)
            .json(schema_of::<ErlangAInput>)
            .ok(200, "the staffing", schema_of::<ErlangAStaffing>),
        route!(POST "/api/v1/surveys", STAFF, "reports", "A post-contact survey answer (csat5: 1-5, nps10: 0-10) for CSAT and NPS", post(hooks::survey))
            .scope(Scope::ContactsWrite)
            .json(schema_of::<SurveyRequest>)
            .empty(201, "recorded")
            .errors(&[404, 409]),
        route!(POST "/api/v1/contacts", STAFF, "live", "Create a contact (chat, e-mail, ticket…) in a queue", post(hooks::create_contact))
            .scope(Scope::ContactsWrite)
            .json(schema_of::<ContactRequest>)
            .ok(201, "created (state null: refused or already ended)", schema_of::<ContactCreated>)
            .errors(&[404, 409]),
        route!(POST "/api/v1/contacts/{contact_id}/callback", STAFF, "live", "Turn a waiting call or chat into a callback that keeps its place (web form, chat widget's \"call me instead\"): 404 unknown contact, 409 not_waiting / wrong_channel / already_callback, 422 bad number or due", post(callback::create))
            .scope(Scope::ContactsWrite)
            .json(schema_of::<CallbackRequest>)
            .ok(200, "the callback: its state, number, due and position", schema_of::<CallbackPlaced>)
            .errors(&[409]),
        route!(POST "/api/v1/hooks/{integration_id}", Access::Integration, "telephony", "A signed call event from a PBX/IVR (call.arrived, call.answered, call.held, call.resumed, call.transferred, call.ended, call.callback_requested)", post(hooks::generic))
            .json(schema_of::<Delivery>)
            .ok(200, "what the event did (a repeated event_id gets the first answer again)", schema_of::<HookAnswer>),
        route!(GET "/api/v1/integrations/{id}/deliveries", ADMIN, "telephony", "Outbound PBX webhooks of an integration (call.ring, call.connect, call.cancel, call.dial) and how their delivery went, newest first", get(pbx::deliveries))
            .scope(Scope::IntegrationsRead)
            .query(params_of::<DeliveriesQuery>)
            .ok(200, "the deliveries", schema_of::<Deliveries>),
        route!(POST "/api/v1/cti/{token}", Access::Integration, "telephony", "Zammad generic CTI (newCall, answer, hangup), JSON or form-encoded; the integration's token is the path", post(hooks::cti))
            .json(schema_of::<CtiEvent>)
            .also_as("application/x-www-form-urlencoded", schema_of::<CtiEvent>)
            .ok(200, "the answer Zammad expects ({} or an action)", schema_of::<CtiAnswer>),
    ];
    all.extend(documents!(
        QueueConfig,
        "/api/v1/queues",
        "/api/v1/queues/{id}",
        STAFF,
        CONFIGURATION,
        "queue"
    ));
    all.extend(documents!(
        Agent,
        "/api/v1/agents",
        "/api/v1/agents/{id}",
        STAFF,
        CONFIGURATION,
        "agent"
    ));
    all.extend(documents!(
        Skill,
        "/api/v1/skills",
        "/api/v1/skills/{id}",
        STAFF,
        CONFIGURATION,
        "skill"
    ));
    all.extend(documents!(
        GreetingScript,
        "/api/v1/scripts",
        "/api/v1/scripts/{id}",
        SIGNED_IN,
        CONFIGURATION,
        "script"
    ));
    all.extend(documents!(
        Disposition,
        "/api/v1/dispositions",
        "/api/v1/dispositions/{id}",
        SIGNED_IN,
        CONFIGURATION,
        "disposition"
    ));
    all.extend(documents!(
        AwayReason,
        "/api/v1/reason-codes",
        "/api/v1/reason-codes/{id}",
        SIGNED_IN,
        CONFIGURATION,
        "reason_code"
    ));
    all.extend(documents!(
        Integration,
        "/api/v1/integrations",
        "/api/v1/integrations/{id}",
        ADMIN,
        INTEGRATIONS,
        "integration"
    ));
    all
}

/// The application: every route with its role check, JSON fallbacks, request ids, tracing
/// and an access log, metrics, a body limit, a request timeout (408) and panic containment;
/// every error answered by the stack itself (413, 408, 405…) gets the JSON error body too.
pub fn router(state: AppState) -> Router {
    let mut app: Router<AppState> = Router::new();
    let all = routes();
    TEMPLATES.get_or_init(|| all.iter().map(|r| r.path).collect());
    for r in all {
        let mut method_router = (r.handler)();
        if let Access::Roles(roles) = r.access {
            let scope = r.scope;
            method_router = method_router.route_layer(middleware::from_fn_with_state(
                state.clone(),
                move |s: State<AppState>, req: Request, next: Next| {
                    auth::require(s, roles, scope, req, next)
                },
            ));
        }
        app = app.route(r.path, method_router);
    }
    let request_id = HeaderName::from_static("x-request-id");
    // One `Router::layer` for the whole stack, outermost first: each `Router::layer` boxes
    // the route again, and a boxed route clones everything inside it on every call, so
    // layer by layer the clones per request grew with the square of the layers.
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        // The raw path is left out: it may carry a CTI token. The matched route is logged.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), request_id = %id, user = tracing::field::Empty, client = tracing::field::Empty)
        }))
        .layer(middleware::from_fn(access_log))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.settings.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("a handler panicked").into_response()
        }))
        .layer(middleware::from_fn_with_state(
            Edge {
                metrics: state.metrics.clone(),
                settings: state.settings.clone(),
            },
            observe,
        ))
        .layer(DefaultBodyLimit::max(state.settings.body_limit));
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(stack)
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

/// Any error response the stack answered without our body (the body limit's 413 on a raw
/// body, the timeout's 408, a WebSocket upgrade refused by axum…) gets `{code, message}`.
/// Applied by [`access_log`], on the answer of the layers inside it.
fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let code = match status.as_u16() {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        411 => "length_required",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "invalid",
        426 => "upgrade_required",
        429 => "rate_limited",
        503 => "unavailable",
        500..=599 => "internal",
        _ => "bad_request",
    };
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let mut answer = ApiError::new(status, code, message).into_response();
    // Keep what the stack said beyond the body (e.g. `allow`, `retry-after`).
    for (name, value) in res.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}

/// The router's route templates, as `&'static str` (filled by [`router`]).
static TEMPLATES: OnceLock<HashSet<&'static str>> = OnceLock::new();

/// The route template a request matched (`unmatched` if none), borrowed when it is one of
/// the router's: no copy per request for the log line and the metric labels.
fn template(req: &Request) -> Cow<'static, str> {
    let Some(matched) = req.extensions().get::<MatchedPath>() else {
        return Cow::Borrowed("unmatched");
    };
    match TEMPLATES.get().and_then(|t| t.get(matched.as_str())) {
        Some(template) => Cow::Borrowed(template),
        None => Cow::Owned(matched.as_str().to_owned()),
    }
}

/// One line per request at info — method, route (the template), status, latency, and from
/// the span the request id and the user, if signed in. Probes and scrapes that succeed are
/// logged at debug. Error answers without a JSON body get one first ([`json_errors`]): one
/// middleware for both, so one boxed future per request instead of two.
async fn access_log(req: Request, next: Next) -> Response {
    let route = template(&req);
    let start = Instant::now();
    let res = json_errors(next.run(req).await);
    let route = route.as_ref();
    let status = res.status().as_u16();
    let latency_ms = (start.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    if matches!(route, "/healthz" | "/readyz" | "/metrics") && status < 400 {
        tracing::debug!(route, status, latency_ms, "request");
    } else {
        tracing::info!(route, status, latency_ms, "request");
    }
    res
}

/// What [`observe`] needs: two `Arc`s, cheaper to clone per request than the [`AppState`].
#[derive(Clone)]
struct Edge {
    metrics: Arc<Metrics>,
    settings: Arc<Settings>,
}

/// Finds the client ([`remember_client`]), then counts requests and their latency per
/// matched route (the template, not the raw path). One middleware for both.
async fn observe(State(edge): State<Edge>, mut req: Request, next: Next) -> Response {
    remember_client(&edge.settings, &mut req);
    let route = template(&req);
    let method = req.method().clone();
    let start = Instant::now();
    let res = next.run(req).await;
    edge.metrics
        .observe_request(route, &method, res.status().as_u16(), start.elapsed());
    res
}

async fn openapi_handler() -> Json<Value> {
    Json(openapi::document())
}

/// Finds the client once per request ([`client::ClientAddr`] for the handlers) and puts it
/// on the request's span (`client`).
fn remember_client(settings: &Settings, req: &mut Request) {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(addr)| addr.ip());
    let client = client::client_address(peer, req.headers(), &settings.trusted_proxies);
    if let Some(ip) = client {
        tracing::Span::current().record("client", tracing::field::display(ip));
    }
    req.extensions_mut().insert(client::ClientAddr(client));
}
