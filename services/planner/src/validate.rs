//! Validation of a drafted plan, before anything runs. A plan runs only if every
//! check passes; otherwise it is stored as rejected with every reason, and nothing
//! is emitted.
//!
//! 1. The intent: supported, complete, parsed with enough confidence.
//! 2. The closed set: each step's command (and compensation) is the one its
//!    shape's definition sends, on that message type's own topic.
//! 3. The wire: each payload encodes with its Avro schema and decodes back to the
//!    same value (`sagaflow_events::encode_json` / `decode_json`).
//! 4. Ownership: every payload names only the caller — the user id, the caller's
//!    cart, the caller's address, the caller's tenant — and only generations and
//!    applications known to be the caller's (see [`crate::ownership`]); a
//!    `CancelSaga` only cancels a saga of this plan.
//! 5. Budget (per plan): money, number of generations, tokens (`PLANNER_MAX_*`);
//!    and per user and UTC day: money (`PLANNER_DAILY_MONEY_MINOR`, see
//!    [`crate::daily`]). Money always counts tax, at `PLANNER_TAX_RATE_BPS`
//!    (see `crate::config` for why that rate).
//! 6. Policy: a checkout above `PLANNER_CONFIRM_ABOVE_MINOR` (tax included) waits
//!    for an explicit confirmation (not a rejection).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::caller::Caller;
use crate::config::Settings;
use crate::daily;
use crate::draft::{Draft, Usage};
use crate::intent::ParsedIntent;
use crate::ownership::{self, Owner};
use crate::shapes::{self, Command, Timing};

/// The outcome of validation, as stored and shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub ok: bool,
    pub reasons: Vec<String>,
    pub needs_confirmation: bool,
    pub confirmation_reason: Option<String>,
    pub budget: Budget,
}

/// What the plan would spend against its limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Tax included (`net_minor + tax_minor`).
    pub money_minor: i64,
    #[serde(default)]
    pub net_minor: i64,
    #[serde(default)]
    pub tax_minor: i64,
    #[serde(default)]
    pub tax_rate_bps: u32,
    pub max_money_minor: i64,
    /// What the caller's plans already committed today (UTC), tax included.
    #[serde(default)]
    pub daily_spent_minor: i64,
    #[serde(default)]
    pub daily_money_minor: i64,
    pub currency: String,
    pub generations: u32,
    pub max_generations: u32,
    pub tokens: i64,
    pub max_tokens: i64,
    pub confirm_above_minor: i64,
}

/// Validates `draft` (or records why there is none) for `caller`, whose
/// assistant cart is `cart_id`. A plan that spends money holds the caller's
/// daily budget row locked until the transaction ends (see [`crate::daily`]).
pub async fn validate(
    conn: &mut PgConnection,
    caller: &Caller,
    cart_id: Uuid,
    parsed: &ParsedIntent,
    draft: Result<&Draft, &[String]>,
    settings: &Settings,
) -> Result<Validation, sqlx::Error> {
    let mut reasons = Vec::new();
    let min_confidence = f64::from(settings.min_confidence_percent) / 100.0;
    if parsed.confidence < min_confidence {
        reasons.push(format!(
            "the request was understood with confidence {:.2}, below {min_confidence:.2}; \
             please rephrase",
            parsed.confidence
        ));
    }
    let usage = match draft {
        Err(why) => {
            reasons.extend(why.iter().cloned());
            Usage::default()
        }
        Ok(draft) => {
            closed_set(draft, &mut reasons);
            for step in &draft.steps {
                round_trip(&step.name, &step.command, &mut reasons);
                if let Some(compensation) = &step.compensation {
                    round_trip(&step.name, compensation, &mut reasons);
                }
            }
            ownership(conn, caller, cart_id, draft, settings, &mut reasons).await?;
            draft.usage.clone()
        }
    };
    let daily_spent_minor = if usage.money_minor > 0 {
        daily::lock_spent(conn, caller, daily::today()).await?
    } else {
        0
    };
    let budget = Budget {
        money_minor: usage.money_minor,
        net_minor: usage.net_minor,
        tax_minor: usage.tax_minor,
        tax_rate_bps: settings.tax_rate_bps,
        max_money_minor: settings.max_money_minor,
        daily_spent_minor,
        daily_money_minor: settings.daily_money_minor,
        currency: usage
            .currency
            .clone()
            .unwrap_or_else(|| settings.currency.clone()),
        generations: usage.generations,
        max_generations: settings.max_generations,
        tokens: usage.tokens,
        max_tokens: settings.max_tokens,
        confirm_above_minor: settings.confirm_above_minor,
    };
    if budget.currency != settings.currency && usage.money_minor > 0 {
        reasons.push(format!(
            "the price is in {} but the plan budget is in {}",
            budget.currency, settings.currency
        ));
    }
    if budget.money_minor > budget.max_money_minor {
        reasons.push(format!(
            "spending {} {} (tax included) exceeds the plan budget of {} {}",
            minor(budget.money_minor),
            budget.currency,
            minor(budget.max_money_minor),
            settings.currency
        ));
    }
    let today = budget.daily_spent_minor.saturating_add(budget.money_minor);
    if budget.money_minor > 0 && today > budget.daily_money_minor {
        reasons.push(format!(
            "spending {} {} (tax included) on top of the {} {} already spent today exceeds \
             your daily budget of {} {}",
            minor(budget.money_minor),
            budget.currency,
            minor(budget.daily_spent_minor),
            settings.currency,
            minor(budget.daily_money_minor),
            settings.currency
        ));
    }
    if budget.generations > budget.max_generations {
        reasons.push(format!(
            "{} generation(s) exceed the plan limit of {}",
            budget.generations, budget.max_generations
        ));
    }
    if budget.tokens > budget.max_tokens {
        reasons.push(format!(
            "{} LLM tokens exceed the plan budget of {}",
            budget.tokens, budget.max_tokens
        ));
    }
    let needs_confirmation = budget.money_minor > budget.confirm_above_minor;
    let confirmation_reason = needs_confirmation.then(|| {
        format!(
            "a checkout of {} {} (tax included) is above {} {}: confirm it to run",
            minor(budget.money_minor),
            budget.currency,
            minor(budget.confirm_above_minor),
            settings.currency
        )
    });
    Ok(Validation {
        ok: reasons.is_empty(),
        reasons,
        needs_confirmation,
        confirmation_reason,
        budget,
    })
}

/// `1250` → `12.50`.
fn minor(amount: i64) -> String {
    format!("{}.{:02}", amount / 100, (amount % 100).abs())
}

/// Each step sends exactly what its shape's definition sends.
fn closed_set(draft: &Draft, reasons: &mut Vec<String>) {
    let def = shapes::definition(draft.shape, Timing::new(None));
    if def.steps.len() != draft.steps.len() {
        reasons.push(format!(
            "{} has {} steps, not {}",
            def.name,
            def.steps.len(),
            draft.steps.len()
        ));
        return;
    }
    for (i, (step, planned)) in def.steps.iter().zip(&draft.steps).enumerate() {
        let expected = (step.name, step.command.message_type, step.command.topic);
        let got = (
            planned.name.as_str(),
            planned.command.message_type.as_str(),
            planned.command.topic.as_str(),
        );
        if expected != got {
            reasons.push(format!(
                "step #{i} of {} must be {expected:?}, not {got:?}",
                def.name
            ));
        }
        let compensation = def
            .compensation_of(i)
            .map(|(c, _)| (c.message_type, c.topic));
        let planned_compensation = planned
            .compensation
            .as_ref()
            .map(|c| (c.message_type.as_str(), c.topic.as_str()));
        if compensation != planned_compensation {
            reasons.push(format!(
                "the compensation of step `{}` must be {compensation:?}",
                planned.name
            ));
        }
    }
}

/// The payload encodes with its schema and decodes back unchanged.
fn round_trip(step: &str, command: &Command, reasons: &mut Vec<String>) {
    if sagaflow_events::topic_of(&command.message_type) != Some(command.topic.as_str()) {
        reasons.push(format!(
            "{} is not published on {}",
            command.message_type, command.topic
        ));
        return;
    }
    let decoded = sagaflow_events::encode_json(&command.message_type, &command.payload)
        .and_then(|bytes| sagaflow_events::decode_json(&bytes));
    match decoded {
        Ok((message_type, value))
            if message_type == command.message_type && value == command.payload => {}
        Ok(_) => reasons.push(format!(
            "the {} payload of step `{step}` changes in an Avro round trip",
            command.message_type
        )),
        Err(err) => reasons.push(format!(
            "the {} payload of step `{step}` does not match its schema: {err}",
            command.message_type
        )),
    }
}

fn text<'a>(payload: &'a Value, field: &str) -> Option<&'a str> {
    payload.get(field).and_then(Value::as_str)
}

fn id(payload: &Value, field: &str) -> Option<Uuid> {
    text(payload, field).and_then(|s| Uuid::parse_str(s).ok())
}

/// Every payload names only the caller and the caller's resources.
async fn ownership(
    conn: &mut PgConnection,
    caller: &Caller,
    cart_id: Uuid,
    draft: &Draft,
    settings: &Settings,
    reasons: &mut Vec<String>,
) -> Result<(), sqlx::Error> {
    let own_sagas: Vec<Uuid> = draft.children().iter().map(|(_, _, c)| c.saga_id).collect();
    let mut refuse = |reason: String| {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    };
    let mut commands: Vec<&Command> = Vec::new();
    for step in &draft.steps {
        commands.push(&step.command);
        commands.extend(step.compensation.as_ref());
    }
    for command in commands {
        let payload = &command.payload;
        if let Some(user) = text(payload, "user_id")
            && user != caller.user_id
        {
            refuse(format!("{} acts for another user", command.message_type));
        }
        if let Some(tenant) = text(payload, "tenant_id")
            && tenant != caller.tenant_id
        {
            refuse(format!("{} names another tenant", command.message_type));
        }
        if let Some(cart) = text(payload, "cart_id")
            && Uuid::parse_str(cart).ok() != Some(cart_id)
        {
            refuse(format!("cart {cart} is not yours"));
        }
        if let Some(email) = text(payload, "customer_email")
            && email != caller.address(&settings.email_domain)
        {
            refuse(format!("{} e-mails someone else", command.message_type));
        }
        match command.message_type.as_str() {
            "SendNotification" => {
                let recipient = text(payload, "recipient").unwrap_or_default();
                if recipient != caller.address(&settings.email_domain)
                    && recipient != caller.user_id
                {
                    refuse("a notification can only go to you".to_owned());
                }
            }
            "CancelSaga" if !id(payload, "saga_id").is_some_and(|s| own_sagas.contains(&s)) => {
                refuse("a plan can only cancel the sagas it starts".to_owned());
            }
            "AttachDocumentToApplication" | "DetachDocumentFromApplication" => {
                if let Some(generation) = id(payload, "generation_id")
                    && !own_sagas.contains(&generation)
                {
                    match ownership::generation(conn, generation, caller).await? {
                        Owner::Caller => {}
                        Owner::Other => refuse(format!("generation {generation} is not yours")),
                        Owner::Unknown => {
                            refuse(format!("generation {generation} is not known to be yours"));
                        }
                    }
                }
                if let Some(application) = id(payload, "application_id") {
                    match ownership::application(conn, application, caller).await? {
                        Owner::Caller => {}
                        Owner::Other => refuse(format!("application {application} is not yours")),
                        Owner::Unknown => refuse(format!(
                            "application {application} is not known to be yours"
                        )),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_print_as_decimals() {
        assert_eq!(minor(1250), "12.50");
        assert_eq!(minor(5), "0.05");
        assert_eq!(minor(100_000), "1000.00");
    }
}
