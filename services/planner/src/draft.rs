//! From a typed intent to a drafted plan: its shape and every step's command and
//! compensation, built from typed contract messages. Code decides everything
//! here: the user and tenant come from the [`Caller`], the cart is the caller's
//! assistant cart (unless the text named one, which validation then checks),
//! prices come from the catalogue, the tax rate, shipping country, token budget
//! and payment method from settings. The intent contributes only its typed
//! fields (a SKU, a quantity, a job description, ids).
//!
//! A purchase adds its line to the cart (`AddCartItem`, no price) and checks out
//! exactly that line (`InitiateCheckout.items` is the one line, no price): the
//! checkout saga's `ClearCart` then takes only those units out of the cart, and
//! whatever else the user has in it stays. What the plan spends is the catalogue
//! price times the quantity plus tax at `PLANNER_TAX_RATE_BPS`, rounded up.

use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AddCartItem, AttachDocumentToApplication, CancelSaga, Channel, DetachDocumentFromApplication,
    DocumentKind, InitiateCheckout, InitiateGeneration, OrderLine, RemoveCartItem,
    SendNotification,
};
use serde::Serialize;
use uuid::Uuid;

use crate::caller::Caller;
use crate::catalog::{Lookup, Price};
use crate::intent::{DocumentChoice, Intent, MAX_QUANTITY, NotifyChannel};
use crate::shapes::{
    ADD_TO_CART, ATTACH, CHECKOUT, ChildSaga, Command, GENERATE, NOTIFY, PlannedStep, Shape,
};

/// What drafting needs besides the intent (settings and the looked-up price).
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub caller: &'a Caller,
    /// The caller's assistant cart (`crate::caller::cart_id`).
    pub cart_id: Uuid,
    /// What the catalogue says about the intent's SKU, if it names one.
    pub price: Option<Lookup>,
    /// Tax counted on top of the price, in basis points (`PLANNER_TAX_RATE_BPS`).
    pub tax_rate_bps: u32,
    /// The checkouts' shipping country (`PLANNER_SHIPPING_COUNTRY`).
    pub shipping_country: &'a str,
    pub generation_tokens: i64,
    pub payment_method: &'a str,
    pub email_domain: &'a str,
}

/// What a plan would spend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Checkout totals with tax, in minor units of `currency` (`net + tax`).
    pub money_minor: i64,
    /// Checkout totals at catalogue prices, before tax.
    pub net_minor: i64,
    /// Tax counted at `PLANNER_TAX_RATE_BPS`, rounded up.
    pub tax_minor: i64,
    pub currency: Option<String>,
    pub generations: u32,
    /// Token budgets of the generations.
    pub tokens: i64,
}

/// A drafted plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub shape: Shape,
    pub steps: Vec<PlannedStep>,
    pub usage: Usage,
}

impl Draft {
    /// The sagas the plan's steps start, with their step index.
    pub fn children(&self) -> Vec<(usize, &PlannedStep, &ChildSaga)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.starts_saga.as_ref().map(|c| (i, s, c)))
            .collect()
    }
}

/// Drafts the plan for `intent`, or says why there is none.
pub fn draft(plan_id: Uuid, intent: &Intent, cx: &Context<'_>) -> Result<Draft, Vec<String>> {
    let missing = intent.missing();
    if !missing.is_empty() {
        return Err(vec![format!("missing information: {}", missing.join(", "))]);
    }
    match intent {
        Intent::Unsupported { reason } => Err(vec![format!("unsupported request: {reason}")]),
        Intent::AddToCart {
            sku: Some(sku),
            quantity: Some(quantity),
            cart_id,
        } => {
            let line = Line::new(sku, *quantity, *cart_id, cx)?;
            Ok(Draft {
                shape: Shape::Cart,
                steps: vec![line.add_step(plan_id, cx)?],
                usage: Usage::default(),
            })
        }
        Intent::Buy {
            sku: Some(sku),
            quantity: Some(quantity),
            cart_id,
        } => {
            let line = Line::new(sku, *quantity, *cart_id, cx)?;
            let add = line.add_step(plan_id, cx)?;
            let checkout_id = Uuid::now_v7();
            // Exactly the line this plan adds: the checkout's ClearCart takes only
            // these units out of the cart.
            let checkout = InitiateCheckout {
                checkout_id,
                user_id: cx.caller.user_id.clone(),
                cart_id: line.cart_id,
                items: vec![OrderLine {
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                }],
                currency: line.price.currency.clone(),
                payment_method: cx.payment_method.to_owned(),
                customer_email: cx.caller.address(cx.email_domain),
                discount_code: None,
                shipping_country: Some(cx.shipping_country.to_owned()),
            };
            let too_large = || vec!["the checkout total is too large".to_owned()];
            let net = i64::from(line.quantity)
                .checked_mul(line.price.unit_price_minor)
                .ok_or_else(too_large)?;
            let tax = tax_on(net, cx.tax_rate_bps).ok_or_else(too_large)?;
            let total = net.checked_add(tax).ok_or_else(too_large)?;
            Ok(Draft {
                shape: Shape::Buy,
                steps: vec![
                    add,
                    PlannedStep {
                        name: CHECKOUT.to_owned(),
                        command: command(&checkout)?,
                        compensation: None,
                        starts_saga: Some(ChildSaga {
                            saga_id: checkout_id,
                            definition: sagaflow_saga_checkout::steps::NAME.to_owned(),
                        }),
                    },
                ],
                usage: Usage {
                    money_minor: total,
                    net_minor: net,
                    tax_minor: tax,
                    currency: Some(line.price.currency),
                    ..Usage::default()
                },
            })
        }
        Intent::Generate {
            document: Some(document),
            job_description: Some(job_description),
            cv_text: Some(cv_text),
            attach_to,
            ..
        } => {
            let generation_id = Uuid::now_v7();
            let generation = InitiateGeneration {
                generation_id,
                user_id: cx.caller.user_id.clone(),
                kind: match document {
                    DocumentChoice::CoverLetter => DocumentKind::CoverLetter,
                    DocumentChoice::Resume => DocumentKind::Resume,
                },
                cv_text: cv_text.clone(),
                job_description: job_description.clone(),
                template: None,
                token_budget: cx.generation_tokens,
            };
            let cancel = CancelSaga {
                saga_id: generation_id,
                reason: format!("plan {plan_id} compensating"),
            };
            let mut steps = vec![PlannedStep {
                name: GENERATE.to_owned(),
                command: command(&generation)?,
                compensation: Some(command(&cancel)?),
                starts_saga: Some(ChildSaga {
                    saga_id: generation_id,
                    definition: sagaflow_saga_generation::steps::NAME.to_owned(),
                }),
            }];
            if let Some(application_id) = attach_to {
                steps.push(attach_step(plan_id, generation_id, *application_id, cx)?);
            }
            Ok(Draft {
                shape: if attach_to.is_some() {
                    Shape::GenerateAttach
                } else {
                    Shape::Generate
                },
                steps,
                usage: Usage {
                    generations: 1,
                    tokens: cx.generation_tokens,
                    ..Usage::default()
                },
            })
        }
        Intent::Attach {
            generation_id: Some(generation_id),
            application_id: Some(application_id),
        } => Ok(Draft {
            shape: Shape::Attach,
            steps: vec![attach_step(plan_id, *generation_id, *application_id, cx)?],
            usage: Usage::default(),
        }),
        Intent::Notify {
            channel,
            message: Some(message),
        } => {
            let (channel, recipient) = match channel {
                NotifyChannel::Email => (Channel::Email, cx.caller.address(cx.email_domain)),
                NotifyChannel::Push => (Channel::Push, cx.caller.user_id.clone()),
            };
            let notification = SendNotification {
                notification_id: Uuid::new_v5(&plan_id, b"notify"),
                saga_id: Some(plan_id),
                channel,
                recipient,
                subject: "A note from your assistant".to_owned(),
                body: message.clone(),
                user_id: Some(cx.caller.user_id.clone()),
            };
            Ok(Draft {
                shape: Shape::Notify,
                steps: vec![PlannedStep {
                    name: NOTIFY.to_owned(),
                    command: command(&notification)?,
                    compensation: None,
                    starts_saga: None,
                }],
                usage: Usage::default(),
            })
        }
        // `missing()` was empty, so every field above is present.
        other => Err(vec![format!("the {} request is incomplete", other.name())]),
    }
}

/// A cart line to add, checked.
struct Line {
    sku: String,
    quantity: i32,
    cart_id: Uuid,
    price: Price,
}

impl Line {
    fn new(
        sku: &str,
        quantity: i32,
        cart_id: Option<Uuid>,
        cx: &Context<'_>,
    ) -> Result<Self, Vec<String>> {
        let mut reasons = Vec::new();
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            reasons.push(format!(
                "quantity {quantity} is out of bounds (1 to {MAX_QUANTITY})"
            ));
        }
        let lookup = cx.price.clone().unwrap_or(Lookup::Unknown);
        if let Some(refusal) = lookup.refusal(sku) {
            reasons.push(refusal);
        }
        match lookup {
            Lookup::Priced(price) if reasons.is_empty() => Ok(Line {
                sku: sku.to_owned(),
                quantity,
                // A cart named in the text is kept here so that validation can
                // refuse it by name if it is not the caller's.
                cart_id: cart_id.unwrap_or(cx.cart_id),
                price,
            }),
            _ => Err(reasons),
        }
    }

    fn add_step(&self, plan_id: Uuid, cx: &Context<'_>) -> Result<PlannedStep, Vec<String>> {
        let add = AddCartItem {
            saga_id: plan_id,
            cart_id: self.cart_id,
            user_id: cx.caller.user_id.clone(),
            sku: self.sku.clone(),
            quantity: self.quantity,
        };
        let remove = RemoveCartItem {
            saga_id: plan_id,
            cart_id: self.cart_id,
            user_id: cx.caller.user_id.clone(),
            sku: self.sku.clone(),
            reason: format!("plan {plan_id} compensating"),
        };
        Ok(PlannedStep {
            name: ADD_TO_CART.to_owned(),
            command: command(&add)?,
            compensation: Some(command(&remove)?),
            starts_saga: None,
        })
    }
}

fn attach_step(
    plan_id: Uuid,
    generation_id: Uuid,
    application_id: Uuid,
    cx: &Context<'_>,
) -> Result<PlannedStep, Vec<String>> {
    let attach = AttachDocumentToApplication {
        saga_id: plan_id,
        tenant_id: Some(cx.caller.tenant_id.clone()),
        user_id: cx.caller.user_id.clone(),
        application_id,
        generation_id,
    };
    let detach = DetachDocumentFromApplication {
        saga_id: plan_id,
        tenant_id: Some(cx.caller.tenant_id.clone()),
        user_id: cx.caller.user_id.clone(),
        application_id,
        generation_id,
        reason: format!("plan {plan_id} compensating"),
    };
    Ok(PlannedStep {
        name: ATTACH.to_owned(),
        command: command(&attach)?,
        compensation: Some(command(&detach)?),
        starts_saga: None,
    })
}

/// Tax on `net` at `rate_bps` basis points, rounded up (never below what pricing
/// charges at that rate, which rounds half up).
pub fn tax_on(net: i64, rate_bps: u32) -> Option<i64> {
    let tax = (i128::from(net) * i128::from(rate_bps) + 9_999) / 10_000;
    i64::try_from(tax).ok()
}

/// A typed message as a stored command.
fn command<T: Contract>(message: &T) -> Result<Command, Vec<String>> {
    Ok(Command {
        message_type: T::MESSAGE_TYPE.to_owned(),
        topic: T::TOPIC.to_owned(),
        payload: serde_json::to_value(message)
            .map_err(|e| vec![format!("{} does not serialise: {e}", T::MESSAGE_TYPE)])?,
    })
}

#[cfg(test)]
mod tests {
    use super::tax_on;

    #[test]
    fn tax_is_rounded_up() {
        assert_eq!(tax_on(1250, 2500), Some(313));
        assert_eq!(tax_on(1000, 2500), Some(250));
        assert_eq!(tax_on(1, 1), Some(1));
        assert_eq!(tax_on(0, 2500), Some(0));
        assert_eq!(tax_on(5000, 0), Some(0));
    }
}
