//! Customer records at the HTTP edge: the `/api/v1/customers` handlers over
//! `switchboard_app::customers` — the version as the ETag, `If-Match` on changes, and the
//! protocol's identity kinds mapped to the application's.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use switchboard_app::customers::{
    Customer, CustomerChanges, CustomerRequest, CustomerSearch, IdentityKind,
};
use switchboard_protocol::customers::{
    CustomerPage, CustomerPatch, CustomerQuery, CustomerView, Identity, IdentityKind as Kind,
    IdentityQuery, MergeRequest, NewCustomer,
};

use crate::{
    documents::if_match,
    error::{ApiError, ApiJson, ApiPath},
    state::AppState,
};

fn kind_of(kind: Kind) -> IdentityKind {
    match kind {
        Kind::Phone => IdentityKind::Phone,
        Kind::Email => IdentityKind::Email,
        Kind::External => IdentityKind::External,
    }
}

fn kind_view(kind: IdentityKind) -> Kind {
    match kind {
        IdentityKind::Phone => Kind::Phone,
        IdentityKind::Email => Kind::Email,
        IdentityKind::External => Kind::External,
    }
}

/// A customer as the API shows it.
fn view(c: &Customer) -> CustomerView {
    CustomerView {
        customer_id: c.customer_id,
        number: c.number.clone(),
        name: c.name.clone(),
        tier: c.tier,
        language: c.language.clone(),
        notes: c.notes.clone(),
        identities: c
            .identities
            .iter()
            .map(|i| Identity {
                kind: kind_view(i.kind),
                value: i.value.clone(),
            })
            .collect(),
        version: c.version,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// The customer, with its version as the ETag.
fn tagged(status: StatusCode, c: &Customer) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", c.version))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    (status, [(header::ETAG, tag)], Json(view(c))).into_response()
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))
}

/// `GET /api/v1/customers`: live customers by id, filtered by name prefix or an identity.
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<CustomerQuery>, QueryRejection>,
) -> Result<Json<CustomerPage>, ApiError> {
    let q = query(q)?;
    let page = state
        .app
        .customers(CustomerSearch {
            name_prefix: q.name,
            phone: q.phone,
            email: q.email,
            external: q.external,
            after: q.after,
            limit: q.limit,
        })
        .await?;
    Ok(Json(CustomerPage {
        customers: page.customers.iter().map(view).collect(),
        next_after: page.next_after,
    }))
}

/// `POST /api/v1/customers`: 201 with the customer and its number.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewCustomer>,
) -> Result<Response, ApiError> {
    let customer = state
        .app
        .create_customer(CustomerRequest {
            name: body.name,
            tier: body.tier,
            language: body.language,
            notes: body.notes,
            identities: body
                .identities
                .into_iter()
                .map(|i| (kind_of(i.kind), i.value))
                .collect(),
        })
        .await?;
    Ok(tagged(StatusCode::CREATED, &customer))
}

/// `GET /api/v1/customers/{customer_id}`: a merged customer answers its survivor.
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    Ok(tagged(StatusCode::OK, &state.app.customer(id).await?))
}

/// `PATCH /api/v1/customers/{customer_id}` (If-Match optional).
pub async fn patch(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CustomerPatch>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let customer = state
        .app
        .update_customer(
            id,
            CustomerChanges {
                name: body.name,
                tier: body.tier,
                language: body.language,
                notes: body.notes,
            },
            expected,
        )
        .await?;
    Ok(tagged(StatusCode::OK, &customer))
}

/// `POST /api/v1/customers/{customer_id}/identities`: 200 with the customer.
pub async fn add_identity(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Identity>,
) -> Result<Response, ApiError> {
    let customer = state
        .app
        .add_customer_identity(id, kind_of(body.kind), &body.value)
        .await?;
    Ok(tagged(StatusCode::OK, &customer))
}

/// `DELETE /api/v1/customers/{customer_id}/identities?kind=…&value=…` (If-Match optional):
/// 200 with the customer.
pub async fn remove_identity(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    q: Result<Query<IdentityQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let q = query(q)?;
    let customer = state
        .app
        .remove_customer_identity(id, kind_of(q.kind), &q.value, expected)
        .await?;
    Ok(tagged(StatusCode::OK, &customer))
}

/// `POST /api/v1/customers/{customer_id}/merge` `{from}`: 200 with the survivor.
pub async fn merge(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<Response, ApiError> {
    let customer = state.app.merge_customers(id, body.from).await?;
    Ok(tagged(StatusCode::OK, &customer))
}
