//! The priority score: a pure, rules-based function of an application, the user's
//! [`Preferences`] and the current time (no I/O), returning a score in 0..=100 and
//! the reasons that produced it, so the user can see why an application ranks
//! where it does.
//!
//! Every open application starts at [`BASE`]; each rule adds or removes points and
//! says why; the sum is clamped to 0..=100. Closed applications (accepted,
//! rejected, withdrawn) score 0. The rules, in the order their reasons appear:
//!
//! | rule | points |
//! |---|---|
//! | `status` | offer +20, interviewing +15; closed: score 0 |
//! | `follow_up` | applied and unchanged for 14..45 days +10 (follow up); 45+ days −15 (gone cold) |
//! | `remote` | remote role and the user accepts remote +20 |
//! | `location` | location matches a preferred one +20; a known location that does not −15; none given 0 |
//! | `salary` | minimum ≥ target +25; maximum ≥ target +15; top within 10% below +5; below −20; missing or another currency 0 |
//! | `stack` | +10 per preferred technology (at most +30); tags but none preferred −10; no tags 0 |
//! | `avoided_stack` | −10 per avoided technology (at most −30) |
//! | `preferences` | nothing set: 0, with a hint to set them |
//!
//! A 0-point reason explains a rule that could not be applied (missing data).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::application::Application;
use crate::preferences::Preferences;
use crate::status::Status;
use crate::text_enum::text_enum;

/// The score of an open application before any rule.
pub const BASE: i32 = 50;
/// Days without news after applying before a follow-up is suggested.
pub const FOLLOW_UP_DAYS: i64 = 14;
/// Days without news after which an application is considered cold.
pub const COLD_DAYS: i64 = 45;

text_enum! {
    /// The rule behind a [`Reason`].
    Rule {
        Status => "status",
        FollowUp => "follow_up",
        Remote => "remote",
        Location => "location",
        Salary => "salary",
        Stack => "stack",
        AvoidedStack => "avoided_stack",
        Preferences => "preferences",
    }
}

/// One rule's contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub rule: Rule,
    /// Points added (negative: removed).
    pub points: i32,
    /// For the user.
    pub message: String,
}

/// A score and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Priority {
    /// 0..=100, higher first.
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// Scores `app` for a user with `prefs` at `now`.
pub fn score(app: &Application, prefs: &Preferences, now: DateTime<Utc>) -> Priority {
    if app.status.is_closed() {
        return Priority {
            score: 0,
            reasons: vec![reason(
                Rule::Status,
                -BASE,
                format!("Closed ({}): nothing left to do", app.status),
            )],
        };
    }
    let mut reasons = Vec::new();
    status(app, now, &mut reasons);
    location(app, prefs, &mut reasons);
    salary(app, prefs, &mut reasons);
    stack(app, prefs, &mut reasons);
    if prefs.is_empty() {
        reasons.push(reason(
            Rule::Preferences,
            0,
            "Set your preferences (locations, remote, salary target, stack) to rank applications by them".into(),
        ));
    }
    let total = BASE + reasons.iter().map(|r| r.points).sum::<i32>();
    Priority {
        score: total.clamp(0, 100) as u8,
        reasons,
    }
}

fn reason(rule: Rule, points: i32, message: String) -> Reason {
    Reason {
        rule,
        points,
        message,
    }
}

fn status(app: &Application, now: DateTime<Utc>, out: &mut Vec<Reason>) {
    match app.status {
        Status::Offer => out.push(reason(
            Rule::Status,
            20,
            "Offer received: decide on it".into(),
        )),
        Status::Interviewing => out.push(reason(
            Rule::Status,
            15,
            "Interviews in progress: prepare for them".into(),
        )),
        Status::Applied => {
            let since = app.fields.applied_at.unwrap_or(app.status_changed_at);
            let days = (now - since).num_days();
            if days >= COLD_DAYS {
                out.push(reason(
                    Rule::FollowUp,
                    -15,
                    format!("No answer {days} days after applying: probably gone cold"),
                ));
            } else if days >= FOLLOW_UP_DAYS {
                out.push(reason(
                    Rule::FollowUp,
                    10,
                    format!("No answer {days} days after applying: follow up"),
                ));
            }
        }
        _ => {}
    }
}

fn location(app: &Application, prefs: &Preferences, out: &mut Vec<Reason>) {
    if app.fields.remote && prefs.remote_ok {
        out.push(reason(
            Rule::Remote,
            20,
            "Remote, and you accept remote work".into(),
        ));
        return;
    }
    if prefs.locations.is_empty() {
        return;
    }
    let Some(place) = app.fields.location.as_deref() else {
        out.push(reason(
            Rule::Location,
            0,
            "No location given to compare with your preferred locations".into(),
        ));
        return;
    };
    let lower = place.to_lowercase();
    let matched = prefs.locations.iter().find(|wanted| {
        let wanted = wanted.to_lowercase();
        lower.contains(&wanted) || wanted.contains(&lower)
    });
    match matched {
        Some(wanted) => out.push(reason(
            Rule::Location,
            20,
            format!("{place} matches your preferred location {wanted}"),
        )),
        None => out.push(reason(
            Rule::Location,
            -15,
            format!(
                "{place} is not among your preferred locations ({})",
                prefs.locations.join(", ")
            ),
        )),
    }
}

fn salary(app: &Application, prefs: &Preferences, out: &mut Vec<Reason>) {
    let (Some(target), Some(currency)) = (prefs.salary_target, prefs.salary_currency.as_deref())
    else {
        return;
    };
    let f = &app.fields;
    let wanted = format!("your target of {target} {currency}");
    let Some(top) = f.salary_max.or(f.salary_min) else {
        out.push(reason(
            Rule::Salary,
            0,
            format!("No salary given to compare with {wanted}"),
        ));
        return;
    };
    let theirs = f.salary_currency.as_deref().unwrap_or("?");
    if theirs != currency {
        out.push(reason(
            Rule::Salary,
            0,
            format!("Salary is in {theirs} and your target in {currency}: not compared"),
        ));
        return;
    }
    let range = match (f.salary_min, f.salary_max) {
        (Some(min), Some(max)) if min != max => format!("{min}–{max} {theirs}"),
        (Some(min), None) => format!("from {min} {theirs}"),
        _ => format!("up to {top} {theirs}"),
    };
    let (points, verdict) = if f.salary_min.is_some_and(|min| min >= target) {
        (25, "meets")
    } else if top >= target {
        (15, "reaches")
    } else if top * 10 >= target * 9 {
        (5, "is within 10% of")
    } else {
        (-20, "is below")
    };
    out.push(reason(
        Rule::Salary,
        points,
        format!("Salary {range} {verdict} {wanted}"),
    ));
}

fn stack(app: &Application, prefs: &Preferences, out: &mut Vec<Reason>) {
    let tags = &app.fields.stack;
    if !prefs.preferred_stack.is_empty() {
        let liked: Vec<&str> = tags
            .iter()
            .filter(|t| prefs.preferred_stack.contains(t))
            .map(String::as_str)
            .collect();
        if !liked.is_empty() {
            out.push(reason(
                Rule::Stack,
                (10 * liked.len() as i32).min(30),
                format!(
                    "Stack includes {} from your preferred stack",
                    liked.join(", ")
                ),
            ));
        } else if tags.is_empty() {
            out.push(reason(
                Rule::Stack,
                0,
                "No stack tags to compare with your preferred stack".into(),
            ));
        } else {
            out.push(reason(
                Rule::Stack,
                -10,
                format!(
                    "Stack ({}) has none of your preferred technologies",
                    tags.join(", ")
                ),
            ));
        }
    }
    let avoided: Vec<&str> = tags
        .iter()
        .filter(|t| prefs.avoided_stack.contains(t))
        .map(String::as_str)
        .collect();
    if !avoided.is_empty() {
        out.push(reason(
            Rule::AvoidedStack,
            -(10 * avoided.len() as i32).min(30),
            format!("Uses {}, which you would rather avoid", avoided.join(", ")),
        ));
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use uuid::Uuid;

    use super::*;
    use crate::application::ApplicationFields;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn app(status: Status, fields: ApplicationFields) -> Application {
        Application {
            id: Uuid::nil(),
            fields: ApplicationFields {
                company: "Acme".into(),
                role: "Engineer".into(),
                ..fields
            },
            status,
            status_changed_at: now() - Duration::days(1),
            created_at: now() - Duration::days(1),
            updated_at: now() - Duration::days(1),
        }
    }

    fn prefs() -> Preferences {
        Preferences {
            locations: vec!["Berlin".into(), "Hamburg".into()],
            remote_ok: true,
            salary_target: Some(90_000),
            salary_currency: Some("EUR".into()),
            preferred_stack: vec!["rust".into(), "postgres".into(), "kafka".into()],
            avoided_stack: vec!["php".into()],
        }
    }

    fn tags(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn points(p: &Priority) -> Vec<(&str, i32)> {
        p.reasons
            .iter()
            .map(|r| (r.rule.as_str(), r.points))
            .collect()
    }

    #[test]
    fn a_matching_application_scores_high_with_every_reason() {
        let a = app(
            Status::Interviewing,
            ApplicationFields {
                location: Some("Berlin, Germany".into()),
                salary_min: Some(95_000),
                salary_max: Some(110_000),
                salary_currency: Some("EUR".into()),
                stack: tags(&["rust", "postgres", "aws"]),
                ..Default::default()
            },
        );
        let p = score(&a, &prefs(), now());
        assert_eq!(
            points(&p),
            [
                ("status", 15),
                ("location", 20),
                ("salary", 25),
                ("stack", 20)
            ]
        );
        assert_eq!(p.score, 100, "50 + 80, clamped");
        let messages: Vec<&str> = p.reasons.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Interviews in progress: prepare for them",
                "Berlin, Germany matches your preferred location Berlin",
                "Salary 95000–110000 EUR meets your target of 90000 EUR",
                "Stack includes rust, postgres from your preferred stack",
            ]
        );
    }

    #[test]
    fn a_poor_match_loses_points_for_each_reason() {
        let a = app(
            Status::Saved,
            ApplicationFields {
                location: Some("Munich".into()),
                salary_max: Some(60_000),
                salary_currency: Some("EUR".into()),
                stack: tags(&["php", "java"]),
                ..Default::default()
            },
        );
        let p = score(&a, &prefs(), now());
        assert_eq!(
            points(&p),
            [
                ("location", -15),
                ("salary", -20),
                ("stack", -10),
                ("avoided_stack", -10)
            ]
        );
        assert_eq!(p.score, 0, "50 - 55, clamped");
        assert_eq!(
            p.reasons[0].message,
            "Munich is not among your preferred locations (Berlin, Hamburg)"
        );
        assert_eq!(
            p.reasons[1].message,
            "Salary up to 60000 EUR is below your target of 90000 EUR"
        );
    }

    #[test]
    fn remote_missing_data_and_other_currencies_explain_zero_points() {
        let a = app(
            Status::Saved,
            ApplicationFields {
                remote: true,
                salary_min: Some(200_000),
                salary_currency: Some("USD".into()),
                ..Default::default()
            },
        );
        let p = score(&a, &prefs(), now());
        assert_eq!(points(&p), [("remote", 20), ("salary", 0), ("stack", 0)]);
        assert_eq!(p.score, 70);
        assert_eq!(
            p.reasons[1].message,
            "Salary is in USD and your target in EUR: not compared"
        );
        let onsite = app(Status::Saved, ApplicationFields::default());
        let p = score(&onsite, &prefs(), now());
        assert_eq!(points(&p), [("location", 0), ("salary", 0), ("stack", 0)]);
        assert_eq!(p.score, BASE as u8);
    }

    #[test]
    fn salary_just_under_target_and_range_reaching_it() {
        let mut fields = ApplicationFields {
            salary_max: Some(85_000),
            salary_currency: Some("EUR".into()),
            ..Default::default()
        };
        let only = Preferences {
            salary_target: Some(90_000),
            salary_currency: Some("EUR".into()),
            ..Default::default()
        };
        let p = score(&app(Status::Saved, fields.clone()), &only, now());
        assert_eq!(points(&p), [("salary", 5)]);
        fields.salary_min = Some(80_000);
        fields.salary_max = Some(100_000);
        let p = score(&app(Status::Saved, fields), &only, now());
        assert_eq!(points(&p), [("salary", 15)]);
        assert_eq!(
            p.reasons[0].message,
            "Salary 80000–100000 EUR reaches your target of 90000 EUR"
        );
    }

    #[test]
    fn follow_up_then_cold_after_applying() {
        let mut a = app(Status::Applied, ApplicationFields::default());
        let none = Preferences::default();
        a.status_changed_at = now() - Duration::days(13);
        assert_eq!(points(&score(&a, &none, now())), [("preferences", 0)]);
        a.status_changed_at = now() - Duration::days(20);
        let p = score(&a, &none, now());
        assert_eq!(points(&p), [("follow_up", 10), ("preferences", 0)]);
        assert_eq!(
            p.reasons[0].message,
            "No answer 20 days after applying: follow up"
        );
        assert_eq!(p.score, 60);
        a.status_changed_at = now() - Duration::days(60);
        let p = score(&a, &none, now());
        assert_eq!(points(&p), [("follow_up", -15), ("preferences", 0)]);
        assert_eq!(p.score, 35);
    }

    #[test]
    fn closed_applications_score_zero_whatever_the_match() {
        for status in [Status::Accepted, Status::Rejected, Status::Withdrawn] {
            let a = app(
                status,
                ApplicationFields {
                    remote: true,
                    stack: tags(&["rust"]),
                    ..Default::default()
                },
            );
            let p = score(&a, &prefs(), now());
            assert_eq!(p.score, 0);
            assert_eq!(
                p.reasons,
                [Reason {
                    rule: Rule::Status,
                    points: -BASE,
                    message: format!("Closed ({status}): nothing left to do"),
                }]
            );
        }
    }

    #[test]
    fn without_preferences_only_the_status_counts() {
        let none = Preferences::default();
        let p = score(
            &app(Status::Offer, ApplicationFields::default()),
            &none,
            now(),
        );
        assert_eq!(points(&p), [("status", 20), ("preferences", 0)]);
        assert_eq!(p.score, 70);
    }
}
