//! The document validator: keyword coverage, an ATS-style score and factuality
//! (no skill, employer or year the CV does not have).

use crate::analysis::capitalised_run_after;
use crate::vocabulary::{canonical, find_skills, has_skill, mentions};

/// Shortest acceptable document, in characters.
pub const MIN_CHARS: usize = 200;
/// Longest acceptable document, in characters.
pub const MAX_CHARS: usize = 12_000;
/// Least keyword coverage (percent of the claimable keywords) that passes.
pub const MIN_COVERAGE: i32 = 30;
/// Least ATS score that passes.
pub const MIN_ATS_SCORE: i32 = 50;

/// What a document may state: the CV, plus the target job (a letter may name the
/// company and role it applies to).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub cv_text: String,
    pub job_title: String,
    pub company: String,
    /// Years the document may mention besides the CV's (e.g. the letter's date).
    pub allowed_years: Vec<String>,
}

/// The validator's verdict on one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// 0..=100.
    pub keyword_coverage: i32,
    /// 0..=100.
    pub ats_score: i32,
    /// Empty when the document passes.
    pub reasons: Vec<String>,
}

impl Validation {
    pub fn passed(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Guidance for a regeneration: every reason, then the standing rule.
    pub fn feedback(&self) -> String {
        let mut feedback = String::from("Fix these problems:\n");
        for reason in &self.reasons {
            feedback.push_str("- ");
            feedback.push_str(reason);
            feedback.push('\n');
        }
        feedback.push_str("Mention only skills, employers and years that appear in the CV.");
        feedback
    }
}

/// The keywords a truthful document can use: skills the CV lacks are left out.
pub fn claimable_keywords(keywords: &[String], cv_text: &str) -> Vec<String> {
    let cv_skills = find_skills(cv_text);
    keywords
        .iter()
        .filter(|k| match canonical(k) {
            Some(skill) => has_skill(&cv_skills, skill),
            None => true,
        })
        .cloned()
        .collect()
}

/// Validates `content` against `keywords` and the `evidence`.
pub fn validate(content: &str, keywords: &[String], evidence: &Evidence) -> Validation {
    let mut reasons = Vec::new();
    let claimable = claimable_keywords(keywords, &evidence.cv_text);
    let present = claimable.iter().filter(|k| mentions(content, k)).count();
    let keyword_coverage = if claimable.is_empty() {
        100
    } else {
        i32::try_from(present * 100 / claimable.len()).unwrap_or(100)
    };
    let ats_score = ats_score(content, keyword_coverage);

    let chars = content.chars().count();
    if chars < MIN_CHARS {
        reasons.push(format!(
            "too short: {chars} characters (at least {MIN_CHARS})"
        ));
    }
    if chars > MAX_CHARS {
        reasons.push(format!(
            "too long: {chars} characters (at most {MAX_CHARS})"
        ));
    }
    if keyword_coverage < MIN_COVERAGE {
        let missing: Vec<&str> = claimable
            .iter()
            .filter(|k| !mentions(content, k))
            .map(String::as_str)
            .collect();
        reasons.push(format!(
            "keyword coverage {keyword_coverage}% is below {MIN_COVERAGE}%; missing: {}",
            missing.join(", ")
        ));
    }
    if ats_score < MIN_ATS_SCORE {
        reasons.push(format!("ATS score {ats_score} is below {MIN_ATS_SCORE}"));
    }
    reasons.extend(factuality(content, evidence));
    Validation {
        keyword_coverage,
        ats_score,
        reasons,
    }
}

/// 0..=100: coverage (40), length within bounds (20), contact details (10), a
/// closing (10), structure (10: headings or several paragraphs), no tables (10).
pub fn ats_score(content: &str, keyword_coverage: i32) -> i32 {
    let lower = content.to_lowercase();
    let mut score = keyword_coverage.clamp(0, 100) * 40 / 100;
    if (MIN_CHARS..=MAX_CHARS).contains(&content.chars().count()) {
        score += 20;
    }
    let has_email = content
        .split_whitespace()
        .any(|w| w.contains('@') && w.contains('.'));
    let has_phone = content
        .split_whitespace()
        .any(|w| w.chars().filter(char::is_ascii_digit).count() >= 7);
    if has_email || has_phone || lower.contains("linkedin") {
        score += 10;
    }
    let closings = ["regards", "sincerely", "thank you", "best wishes", "yours"];
    let headings = [
        "profile",
        "skills",
        "experience",
        "education",
        "highlights",
        "summary",
    ];
    let has_headings = content.lines().any(|line| {
        let line = line
            .trim()
            .trim_start_matches('#')
            .trim()
            .trim_end_matches(':');
        headings.iter().any(|h| line.eq_ignore_ascii_case(h))
    });
    if closings.iter().any(|c| lower.contains(c)) || has_headings {
        score += 10;
    }
    let paragraphs = content
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .count();
    if has_headings || paragraphs >= 3 {
        score += 10;
    }
    let table = content.lines().any(|line| {
        let line = line.trim();
        (line.starts_with('|') && line.matches('|').count() >= 2) || line.contains('\t')
    });
    if !table {
        score += 10;
    }
    score.clamp(0, 100)
}

/// Capitalised first words that start a phrase, not an employer ("at The end").
const NOT_EMPLOYERS: &[&str] = &[
    "The", "This", "That", "Your", "My", "Our", "A", "An", "Any", "All", "Each", "Every", "I",
    "Me", "Us", "You", "Hiring", "Dear", "Kind", "Best",
];

/// Every factual claim in `content` the evidence does not back, as reasons.
pub fn factuality(content: &str, evidence: &Evidence) -> Vec<String> {
    let mut reasons = Vec::new();
    let cv_skills = find_skills(&evidence.cv_text);
    for skill in find_skills(content) {
        if !has_skill(&cv_skills, &skill) {
            reasons.push(format!(
                "claims the skill {skill}, which the CV does not mention"
            ));
        }
    }
    let cv_lower = evidence.cv_text.to_lowercase();
    let target = format!("{} {}", evidence.job_title, evidence.company).to_lowercase();
    let mut employers: Vec<String> = Vec::new();
    let words: Vec<&str> = content.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        if !matches!(*word, "at" | "for" | "At" | "For") {
            continue;
        }
        let employer = capitalised_run_after(&words[i + 1..]);
        let first = employer.split_whitespace().next().unwrap_or_default();
        if employer.is_empty() || NOT_EMPLOYERS.contains(&first) || canonical(&employer).is_some() {
            continue;
        }
        let lower = employer.to_lowercase();
        if !cv_lower.contains(&lower) && !target.contains(&lower) && !employers.contains(&employer)
        {
            employers.push(employer);
        }
    }
    for employer in employers {
        reasons.push(format!(
            "names the employer {employer}, which the CV does not mention"
        ));
    }
    let mut years: Vec<&str> = Vec::new();
    for token in content.split(|c: char| !c.is_ascii_digit()) {
        let is_year = token.len() == 4 && (token.starts_with("19") || token.starts_with("20"));
        let backed =
            evidence.cv_text.contains(token) || evidence.allowed_years.iter().any(|y| y == token);
        if is_year && !backed && !years.contains(&token) {
            years.push(token);
        }
    }
    for year in years {
        reasons.push(format!(
            "mentions the year {year}, which the CV does not mention"
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_skill_employer_and_year_are_caught() {
        let evidence = Evidence {
            cv_text: "Ada Lovelace\nRust and Kafka at Globex since 2019".into(),
            company: "Acme".into(),
            ..Evidence::default()
        };
        let text = "I used Rust and Kubernetes at Initech in 2011, then Kafka at Globex in 2019. \
                    I apply for the role at Acme.";
        let reasons = factuality(text, &evidence);
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].contains("Kubernetes"));
        assert!(reasons[1].contains("Initech"));
        assert!(reasons[2].contains("2011"));
    }
}
