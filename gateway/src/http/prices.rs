//! Metal prices from a price feed: `PUT /api/v1/metal-prices/{metal}` with
//! `{"per_gram": "61.25", "currency": "EUR"}`, the price of a gram of the fine metal. The
//! dashboard shows metal held and lost in money at the latest price.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::AppError;
use super::params;
use crate::dashboard::metal::parse_price;
use crate::store::dashboard::MetalPrice;

/// A price as the API takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PriceBody {
    per_gram: String,
    currency: String,
}

/// A price as the API answers it.
#[derive(Debug, Serialize)]
pub(super) struct PriceView {
    metal: touchstone_model::metal::Metal,
    per_gram: String,
    currency: String,
    updated_at: String,
    updated_by: String,
}

impl From<MetalPrice> for PriceView {
    fn from(p: MetalPrice) -> PriceView {
        PriceView {
            metal: p.metal,
            per_gram: p.per_gram.to_string(),
            currency: p.currency,
            updated_at: params::time(p.updated_us),
            updated_by: p.updated_by,
        }
    }
}

/// `PUT /api/v1/metal-prices/{metal}`
pub(super) async fn put(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<PriceBody>, JsonRejection>,
) -> Result<Json<PriceView>, AppError> {
    let Path(metal) = path.map_err(|err| AppError::BadRequest(err.body_text()))?;
    let Json(body) = body.map_err(|err| AppError::BadRequest(err.body_text()))?;
    let price = parse_price(&metal, &body.per_gram, &body.currency, "api")?;
    state.store.set_metal_price(&price).await?;
    tracing::info!(
        metal = %metal,
        per_gram = %price.per_gram,
        currency = %price.currency,
        "metal price set through the API"
    );
    state.floor_moved();
    Ok(Json(price.into()))
}
