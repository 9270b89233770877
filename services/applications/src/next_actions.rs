//! The next-actions list of `GET /v1/tracker/next-actions`: what the user should do
//! next across their applications, soonest first. Pure: [`compute`] takes the facts
//! (`store::reminders::next_action_facts`) and the time.
//!
//! - `reminder`: a scheduled reminder due within [`HORIZON_DAYS`] (or overdue).
//! - `prepare_interview`: a pending interview within [`HORIZON_DAYS`].
//! - `follow_up`: an application `applied` with no news for
//!   [`priority::FOLLOW_UP_DAYS`] to [`priority::COLD_DAYS`] days and no follow-up
//!   reminder scheduled (the same rule as the priority score's).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::priority;
use crate::text_enum::text_enum;

/// How far ahead the list looks.
pub const HORIZON_DAYS: i64 = 14;

text_enum! {
    /// What to do.
    ActionKind {
        Reminder => "reminder",
        PrepareInterview => "prepare_interview",
        FollowUp => "follow_up",
    }
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub action: ActionKind,
    pub application_id: Uuid,
    pub company: String,
    pub role: String,
    /// When: the reminder's or the interview's time, or when the follow-up became due.
    pub due_at: DateTime<Utc>,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminder_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interview_id: Option<Uuid>,
}

/// The application a fact is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub application_id: Uuid,
    pub company: String,
    pub role: String,
}

/// A scheduled reminder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledReminder {
    pub about: About,
    pub reminder_id: Uuid,
    pub follow_up: bool,
    pub due_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// A pending interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInterview {
    pub about: About,
    pub interview_id: Uuid,
    pub kind: String,
    pub scheduled_at: DateTime<Utc>,
}

/// An application in `applied`, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub about: About,
    pub since: DateTime<Utc>,
}

/// Everything the list is made from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub reminders: Vec<ScheduledReminder>,
    pub interviews: Vec<PendingInterview>,
    pub applied: Vec<Applied>,
}

/// The next actions at `now`, soonest first.
pub fn compute(facts: &Facts, now: DateTime<Utc>) -> Vec<Action> {
    let horizon = now + Duration::days(HORIZON_DAYS);
    let action = |kind, about: &About, due_at, detail: String| Action {
        action: kind,
        application_id: about.application_id,
        company: about.company.clone(),
        role: about.role.clone(),
        due_at,
        detail,
        reminder_id: None,
        interview_id: None,
    };
    let mut actions = Vec::new();
    for r in facts.reminders.iter().filter(|r| r.due_at <= horizon) {
        let detail = r.note.clone().unwrap_or_else(|| {
            if r.follow_up {
                "Follow up on this application".to_owned()
            } else {
                "Interview reminder".to_owned()
            }
        });
        actions.push(Action {
            reminder_id: Some(r.reminder_id),
            ..action(ActionKind::Reminder, &r.about, r.due_at, detail)
        });
    }
    for i in &facts.interviews {
        if i.scheduled_at > now && i.scheduled_at <= horizon {
            let detail = format!("Prepare for the {} interview", i.kind.replace('_', " "));
            actions.push(Action {
                interview_id: Some(i.interview_id),
                ..action(
                    ActionKind::PrepareInterview,
                    &i.about,
                    i.scheduled_at,
                    detail,
                )
            });
        }
    }
    for a in &facts.applied {
        let days = (now - a.since).num_days();
        let reminded = facts
            .reminders
            .iter()
            .any(|r| r.follow_up && r.about.application_id == a.about.application_id);
        if (priority::FOLLOW_UP_DAYS..priority::COLD_DAYS).contains(&days) && !reminded {
            let detail = format!("No answer {days} days after applying: follow up");
            let due = a.since + Duration::days(priority::FOLLOW_UP_DAYS);
            actions.push(action(ActionKind::FollowUp, &a.about, due, detail));
        }
    }
    actions.sort_by_key(|a| (a.due_at, a.action));
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(n: u128) -> About {
        About {
            application_id: Uuid::from_u128(n),
            company: format!("Company {n}"),
            role: "SRE".into(),
        }
    }

    #[test]
    fn soonest_first_within_the_horizon_without_followed_up_ones() {
        let now = Utc::now();
        let facts = Facts {
            reminders: vec![
                ScheduledReminder {
                    about: about(1),
                    reminder_id: Uuid::from_u128(10),
                    follow_up: true,
                    due_at: now + Duration::days(2),
                    note: Some("Call Anna".into()),
                },
                ScheduledReminder {
                    about: about(2),
                    reminder_id: Uuid::from_u128(11),
                    follow_up: true,
                    due_at: now + Duration::days(30),
                    note: None,
                },
            ],
            interviews: vec![
                PendingInterview {
                    about: about(3),
                    interview_id: Uuid::from_u128(20),
                    kind: "phone_screen".into(),
                    scheduled_at: now + Duration::days(1),
                },
                PendingInterview {
                    about: about(3),
                    interview_id: Uuid::from_u128(21),
                    kind: "onsite".into(),
                    scheduled_at: now - Duration::days(1),
                },
            ],
            applied: vec![
                // Reminded already (the far reminder): no suggestion.
                Applied {
                    about: about(2),
                    since: now - Duration::days(20),
                },
                Applied {
                    about: about(4),
                    since: now - Duration::days(20),
                },
                // Too fresh, and gone cold.
                Applied {
                    about: about(5),
                    since: now - Duration::days(3),
                },
                Applied {
                    about: about(6),
                    since: now - Duration::days(60),
                },
            ],
        };
        let actions = compute(&facts, now);
        let summary: Vec<(ActionKind, u128)> = actions
            .iter()
            .map(|a| (a.action, a.application_id.as_u128()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (ActionKind::FollowUp, 4),
                (ActionKind::PrepareInterview, 3),
                (ActionKind::Reminder, 1),
            ]
        );
        assert_eq!(
            actions[0].detail,
            "No answer 20 days after applying: follow up"
        );
        assert_eq!(actions[1].detail, "Prepare for the phone screen interview");
        assert_eq!(actions[2].detail, "Call Anna");
        assert_eq!(actions[2].reminder_id, Some(Uuid::from_u128(10)));
    }
}
