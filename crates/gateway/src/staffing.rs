//! Staffing calculators: how many agents a forecast needs (Erlang C, and Erlang A for callers
//! who hang up), with the service they would get.

use axum::{http::StatusCode, Json};
use switchboard_stats::{
    erlang_a_staffing, erlang_c_staffing, ErlangAInput, ErlangAStaffing, ErlangCInput,
    ErlangCStaffing, StaffingError,
};

use crate::error::{ApiError, ApiJson, ErrorDetails};

fn staffing_error(e: StaffingError) -> ApiError {
    let field = match &e {
        StaffingError::NotFinite { field, .. }
        | StaffingError::Negative { field, .. }
        | StaffingError::NotPositive { field, .. }
        | StaffingError::FractionOutOfRange { field, .. } => Some(*field),
        _ => None,
    };
    let status = if field.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::CONFLICT
    };
    let code = if field.is_some() {
        "invalid"
    } else {
        "no_staffing_solution"
    };
    ApiError::new(status, code, e.to_string()).with_details(ErrorDetails::Field {
        field: field.map(str::to_owned),
    })
}

/// `POST /api/v1/staffing/erlang-c`
pub async fn erlang_c(
    ApiJson(input): ApiJson<ErlangCInput>,
) -> Result<Json<ErlangCStaffing>, ApiError> {
    erlang_c_staffing(&input).map(Json).map_err(staffing_error)
}

/// `POST /api/v1/staffing/erlang-a`
pub async fn erlang_a(
    ApiJson(input): ApiJson<ErlangAInput>,
) -> Result<Json<ErlangAStaffing>, ApiError> {
    erlang_a_staffing(&input).map(Json).map_err(staffing_error)
}
