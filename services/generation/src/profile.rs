//! Matching a CV against the analysed job: candidate name, CV skills, match
//! percentage and the CV lines worth emphasising.

use crate::vocabulary::{find_skills, has_skill, mentions};

/// How many CV lines a profile emphasises.
pub const MAX_EMPHASIS: usize = 5;

/// A CV matched against a job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// The first non-empty CV line.
    pub candidate_name: String,
    /// Vocabulary skills found in the CV.
    pub cv_skills: Vec<String>,
    /// Required skills the CV has (required ∩ CV skills, in required order).
    pub matched_skills: Vec<String>,
    /// Required skills the CV lacks.
    pub missing_skills: Vec<String>,
    /// 0..=100: matched / required (100 when nothing is required).
    pub match_percent: i32,
    /// Up to [`MAX_EMPHASIS`] CV lines mentioning required skills or keywords,
    /// the most mentions first; lists ([`is_list`]) and lines of fewer than four
    /// words (headings) left out.
    pub emphasis: Vec<String>,
    pub summary: String,
}

/// Whether a CV line is a list ("Skills: Rust, Kafka, Docker"): after an optional
/// label, three or more items of at most three words each. A list is not worth
/// emphasising: a document should say what was done with a skill, not paste it.
pub fn is_list(line: &str) -> bool {
    let body = match line.split_once([':', '\u{ff1a}']) {
        Some((label, rest)) if label.split_whitespace().count() <= 3 => rest,
        _ => line,
    };
    let items: Vec<&str> = body
        .split([',', '\u{30fb}', '|', ';', '\u{3001}', '/'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect();
    items.len() >= 3
        && items
            .iter()
            .all(|item| item.split_whitespace().count() <= 3)
}

/// Matches `cv_text` against the required `skills` and `keywords`.
pub fn compile(cv_text: &str, skills: &[String], keywords: &[String]) -> Profile {
    let mut lines = cv_text.lines().map(str::trim).filter(|l| !l.is_empty());
    let candidate_name = lines
        .next()
        .map(|l| l.trim_start_matches(['#', ' ']).trim())
        .map(|l| l.chars().take(80).collect::<String>())
        .unwrap_or_default();
    let cv_skills = find_skills(cv_text);
    let (matched_skills, missing_skills): (Vec<String>, Vec<String>) = skills
        .iter()
        .cloned()
        .partition(|skill| has_skill(&cv_skills, skill) || mentions(cv_text, skill));
    let match_percent = if skills.is_empty() {
        100
    } else {
        let percent = matched_skills.len() * 100 / skills.len();
        i32::try_from(percent).unwrap_or(100)
    };

    let terms: Vec<&String> = skills.iter().chain(keywords).collect();
    let mut scored: Vec<(usize, usize, String)> = lines
        .enumerate()
        .filter(|(_, line)| !is_list(line) && line.split_whitespace().count() >= 4)
        .filter_map(|(position, line)| {
            let score = terms.iter().filter(|t| mentions(line, t)).count();
            let line = line.trim_start_matches(['-', '*', '•', ' ']).trim();
            (score > 0 && !line.is_empty()).then(|| (score, position, line.to_owned()))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let emphasis: Vec<String> = scored
        .into_iter()
        .map(|(_, _, line)| line)
        .take(MAX_EMPHASIS)
        .collect();

    let mut summary = format!(
        "{} matches {} of {} required skills ({match_percent}%)",
        if candidate_name.is_empty() {
            "The candidate"
        } else {
            &candidate_name
        },
        matched_skills.len(),
        skills.len()
    );
    if !matched_skills.is_empty() {
        summary.push_str(&format!(": {}", matched_skills.join(", ")));
    }
    summary.push('.');
    if !missing_skills.is_empty() {
        summary.push_str(&format!(" Missing: {}.", missing_skills.join(", ")));
    }
    Profile {
        candidate_name,
        cv_skills,
        matched_skills,
        missing_skills,
        match_percent,
        emphasis,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matches_and_emphasises() {
        let cv = "\n  Ada Lovelace\nada@example.com\n- Built Kafka pipelines in Rust at Globex (2019-2023)\n\
                  - Gardening\n- Ran PostgreSQL clusters";
        let profile = compile(
            cv,
            &list(&["Rust", "Kafka", "Kubernetes", "PostgreSQL"]),
            &list(&["pipelines"]),
        );
        assert_eq!(profile.candidate_name, "Ada Lovelace");
        assert_eq!(profile.match_percent, 75);
        assert_eq!(profile.missing_skills, list(&["Kubernetes"]));
        assert_eq!(
            profile.emphasis,
            list(&[
                "Built Kafka pipelines in Rust at Globex (2019-2023)",
                "Ran PostgreSQL clusters"
            ])
        );
    }
}
