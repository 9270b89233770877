//! Tracker analytics, computed purely from a user's application and interview
//! facts (the SQL that loads them is in [`crate::store::analytics`]):
//!
//! - `total` and `by_status` (every status, zeros included);
//! - `applied`: applications sent (`applied_at` set);
//! - `responded`: sent applications the company answered: they reached
//!   interviewing, offer, accepted or rejected at some point, or have an interview;
//! - `response_rate` = responded / applied (3 decimals; `null` when nothing was sent);
//! - `time_to_first_interview`: over sent applications with a non-cancelled
//!   interview scheduled after `applied_at`, the days from `applied_at` to the
//!   earliest one (average and median, 1 decimal);
//! - `interviews`: how many, and how many are upcoming (pending, in the future).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::interview::InterviewOutcome;
use crate::status::Status;

/// What analytics needs of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationFacts {
    pub id: Uuid,
    pub status: Status,
    pub applied_at: Option<DateTime<Utc>>,
    /// It reached a status that is an answer ([`Status::is_response`]) at some point.
    pub reached_response_status: bool,
}

/// What analytics needs of an interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterviewFacts {
    pub application_id: Uuid,
    pub scheduled_at: DateTime<Utc>,
    pub outcome: InterviewOutcome,
}

/// `GET /v1/tracker/analytics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analytics {
    pub total: i64,
    pub by_status: BTreeMap<&'static str, i64>,
    pub applied: i64,
    pub responded: i64,
    pub response_rate: Option<f64>,
    pub time_to_first_interview: TimeToFirstInterview,
    pub interviews: InterviewCounts,
}

/// Days from applying to the first interview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToFirstInterview {
    /// Applications measured.
    pub applications: i64,
    pub average_days: Option<f64>,
    pub median_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterviewCounts {
    pub total: i64,
    /// Pending and scheduled after now.
    pub upcoming: i64,
}

/// The analytics of one user's `apps` and `interviews` at `now`.
pub fn compute(
    apps: &[ApplicationFacts],
    interviews: &[InterviewFacts],
    now: DateTime<Utc>,
) -> Analytics {
    let mut by_status: BTreeMap<&'static str, i64> =
        Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut interviewed: HashMap<Uuid, Option<DateTime<Utc>>> = HashMap::new();
    for i in interviews {
        let first = interviewed.entry(i.application_id).or_insert(None);
        if i.outcome != InterviewOutcome::Cancelled {
            *first = Some(first.map_or(i.scheduled_at, |t| t.min(i.scheduled_at)));
        }
    }
    let (mut applied, mut responded) = (0, 0);
    let mut days = Vec::new();
    for app in apps {
        *by_status.entry(app.status.as_str()).or_default() += 1;
        let Some(applied_at) = app.applied_at else {
            continue;
        };
        applied += 1;
        let first_interview = interviewed.get(&app.id);
        if app.reached_response_status || first_interview.is_some() {
            responded += 1;
        }
        if let Some(Some(first)) = first_interview
            && *first >= applied_at
        {
            days.push((*first - applied_at).num_seconds() as f64 / 86_400.0);
        }
    }
    days.sort_by(f64::total_cmp);
    let median = match days.len() {
        0 => None,
        n if n % 2 == 1 => Some(days[n / 2]),
        n => Some((days[n / 2 - 1] + days[n / 2]) / 2.0),
    };
    let average = (!days.is_empty()).then(|| days.iter().sum::<f64>() / days.len() as f64);
    Analytics {
        total: apps.len() as i64,
        by_status,
        applied,
        responded,
        response_rate: (applied > 0).then(|| round(responded as f64 / applied as f64, 3)),
        time_to_first_interview: TimeToFirstInterview {
            applications: days.len() as i64,
            average_days: average.map(|d| round(d, 1)),
            median_days: median.map(|d| round(d, 1)),
        },
        interviews: InterviewCounts {
            total: interviews.len() as i64,
            upcoming: interviews
                .iter()
                .filter(|i| i.outcome == InterviewOutcome::Pending && i.scheduled_at > now)
                .count() as i64,
        },
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(n)
    }

    fn app(n: u128, status: Status, applied: Option<i64>, answered: bool) -> ApplicationFacts {
        ApplicationFacts {
            id: Uuid::from_u128(n),
            status,
            applied_at: applied.map(day),
            reached_response_status: answered,
        }
    }

    fn interview(n: u128, at: i64, outcome: InterviewOutcome) -> InterviewFacts {
        InterviewFacts {
            application_id: Uuid::from_u128(n),
            scheduled_at: day(at),
            outcome,
        }
    }

    #[test]
    fn a_known_data_set() {
        use InterviewOutcome::*;
        let apps = [
            app(1, Status::Saved, None, false),
            app(2, Status::Applied, Some(0), false),
            app(3, Status::Interviewing, Some(0), true),
            app(4, Status::Rejected, Some(10), true),
            app(5, Status::Withdrawn, Some(0), false),
            app(6, Status::Offer, Some(20), true),
        ];
        let interviews = [
            interview(3, 4, Passed),
            interview(3, 2, Cancelled),
            interview(3, 9, Pending),
            interview(5, 6, Failed),
            interview(6, 30, Pending),
            interview(6, 50, Pending),
        ];
        let a = compute(&apps, &interviews, day(40));
        assert_eq!(a.total, 6);
        assert_eq!(a.by_status["saved"], 1);
        assert_eq!(a.by_status["accepted"], 0);
        assert_eq!(a.by_status.len(), 7);
        assert_eq!(a.applied, 5);
        // 3, 4, 6 by status; 5 had an interview before withdrawing.
        assert_eq!(a.responded, 4);
        assert_eq!(a.response_rate, Some(0.8));
        // app 3: day 4 (the cancelled day-2 one does not count); app 5: 6; app 6: 10.
        assert_eq!(
            a.time_to_first_interview,
            TimeToFirstInterview {
                applications: 3,
                average_days: Some(6.7),
                median_days: Some(6.0),
            }
        );
        assert_eq!(
            a.interviews,
            InterviewCounts {
                total: 6,
                upcoming: 1
            }
        );
    }

    #[test]
    fn nothing_sent_has_no_rates() {
        let a = compute(&[app(1, Status::Saved, None, false)], &[], day(0));
        assert_eq!((a.applied, a.responded, a.response_rate), (0, 0, None));
        assert_eq!(a.time_to_first_interview.median_days, None);
        let even = compute(
            &[
                app(1, Status::Interviewing, Some(0), true),
                app(2, Status::Interviewing, Some(0), true),
            ],
            &[
                interview(1, 2, InterviewOutcome::Passed),
                interview(2, 5, InterviewOutcome::Passed),
            ],
            day(0),
        );
        assert_eq!(even.time_to_first_interview.median_days, Some(3.5));
    }
}
