//! Rule-based job-ad analysis (no LLM): skills from the vocabulary, keywords by
//! frequency, seniority, and the job title and company when the ad names them.

use std::collections::HashMap;

use crate::vocabulary::{STOP_WORDS, find_skills, tokens};

/// Fewest words an analysable job description has.
pub const MIN_WORDS: usize = 12;
/// How many keywords an analysis keeps.
pub const MAX_KEYWORDS: usize = 10;

/// What the analysis found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobAnalysis {
    /// Canonical vocabulary skills, in vocabulary order.
    pub skills: Vec<String>,
    /// The most frequent meaningful words, most frequent first.
    pub keywords: Vec<String>,
    /// `junior`, `mid`, `senior` or `lead`.
    pub seniority: String,
    /// Empty when the ad does not say.
    pub job_title: String,
    /// Empty when the ad does not say.
    pub company: String,
}

/// Analyses a job description; `Err` is the reason it cannot be analysed.
pub fn analyse(description: &str) -> Result<JobAnalysis, String> {
    let words = tokens(description);
    if words.is_empty() {
        return Err("the job description is empty".to_owned());
    }
    if words.len() < MIN_WORDS {
        return Err(format!(
            "the job description is too short ({} words; at least {MIN_WORDS})",
            words.len()
        ));
    }
    let (job_title, company) = title_and_company(description);
    let seniority = seniority(&job_title)
        .or_else(|| seniority(description))
        .unwrap_or("mid")
        .to_owned();
    Ok(JobAnalysis {
        skills: find_skills(description),
        keywords: keywords(&words, MAX_KEYWORDS),
        seniority,
        job_title,
        company,
    })
}

/// The `limit` most frequent tokens that are not stop words, numbers or too short;
/// ties keep the order of first appearance.
pub fn keywords(words: &[String], limit: usize) -> Vec<String> {
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (position, word) in words.iter().enumerate() {
        let meaningful = word.chars().count() >= 3
            && word.chars().any(char::is_alphabetic)
            && !STOP_WORDS.contains(&word.as_str());
        if meaningful {
            counts.entry(word).or_insert((0, position)).0 += 1;
        }
    }
    let mut ranked: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(word, _)| word.to_owned())
        .collect()
}

/// The seniority named first in `text`, if any.
pub fn seniority(text: &str) -> Option<&'static str> {
    tokens(text).iter().find_map(|word| match word.as_str() {
        "lead" | "principal" | "staff" | "head" => Some("lead"),
        "senior" | "sr" => Some("senior"),
        "junior" | "jr" | "graduate" | "intern" | "entry" | "trainee" => Some("junior"),
        "mid" | "intermediate" => Some("mid"),
        _ => None,
    })
}

/// Words that end a job title.
const ROLE_WORDS: &[&str] = &[
    "engineer",
    "developer",
    "manager",
    "designer",
    "analyst",
    "scientist",
    "architect",
    "consultant",
    "lead",
    "specialist",
    "administrator",
    "officer",
    "director",
    "intern",
    "coordinator",
    "writer",
    "tester",
    "programmer",
    "recruiter",
    "accountant",
    "marketer",
    "sre",
    "owner",
    "executive",
    "associate",
];

/// `("Senior Rust Engineer", "Acme")` from "... Senior Rust Engineer at Acme ...", or
/// from `Title:` / `Company:` lines; empty strings when not found.
pub fn title_and_company(text: &str) -> (String, String) {
    let mut title = labelled(text, &["title", "job title", "position", "role"]);
    let mut company = labelled(
        text,
        &["company", "employer", "organisation", "organization"],
    );
    for line in text.lines() {
        if !title.is_empty() && !company.is_empty() {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            if *word != "at" || i == 0 {
                continue;
            }
            let before = capitalised_run_before(&words[..i]);
            let ends_with_role = before
                .split_whitespace()
                .last()
                .is_some_and(|w| ROLE_WORDS.contains(&w.to_lowercase().as_str()));
            if !ends_with_role {
                continue;
            }
            let after = capitalised_run_after(&words[i + 1..]);
            if after.is_empty() {
                continue;
            }
            if title.is_empty() {
                title = before;
            }
            if company.is_empty() {
                company = after;
            }
            break;
        }
    }
    if title.is_empty() {
        // A short first line that names a role is the title.
        if let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) {
            let first = first.trim_start_matches('#').trim();
            let role = tokens(first)
                .last()
                .is_some_and(|w| ROLE_WORDS.contains(&w.as_str()));
            if role && first.len() <= 80 {
                title = first.to_owned();
            }
        }
    }
    (title, company)
}

/// The value of a `Label: value` line, for the first label found.
fn labelled(text: &str, labels: &[&str]) -> String {
    for line in text.lines() {
        if let Some((label, value)) = line.split_once(':') {
            let label = label.trim().trim_start_matches(['#', '*', '-']).trim();
            if labels.iter().any(|l| label.eq_ignore_ascii_case(l)) {
                let value = value.trim().trim_matches('*').trim();
                if !value.is_empty() && value.len() <= 80 {
                    return value.to_owned();
                }
            }
        }
    }
    String::new()
}

fn is_capitalised(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn clean(word: &str) -> &str {
    word.trim_matches(|c: char| !(c.is_alphanumeric() || matches!(c, '+' | '#' | '&')))
}

/// The capitalised words right before `at` ("a Senior Rust Engineer" -> "Senior Rust
/// Engineer"), stopping at a word that ends a sentence or clause.
fn capitalised_run_before(words: &[&str]) -> String {
    let mut run: Vec<&str> = Vec::new();
    for word in words.iter().rev() {
        let cleaned = clean(word);
        let ends_clause = word.ends_with([',', '.', ':', ';', '!', '?']) && !run.is_empty();
        if cleaned.is_empty() || !is_capitalised(cleaned) || ends_clause {
            break;
        }
        run.push(cleaned);
    }
    run.reverse();
    run.join(" ")
}

/// Capitalised words after `at` / `for` ("Acme Corp, a startup" -> "Acme Corp"),
/// allowing `&` and "of"; stops at punctuation.
pub fn capitalised_run_after(words: &[&str]) -> String {
    let mut run: Vec<&str> = Vec::new();
    for word in words {
        let cleaned = clean(word);
        let joiner = matches!(cleaned, "&" | "of") && !run.is_empty();
        if cleaned.is_empty() || !(is_capitalised(cleaned) || joiner) {
            break;
        }
        run.push(cleaned);
        if word.ends_with([',', '.', ':', ';', '!', '?', ')']) {
            break;
        }
    }
    while run.last().is_some_and(|w| matches!(*w, "&" | "of")) {
        run.pop();
    }
    run.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_title_company_and_seniority() {
        let ad = "We are hiring a Senior Rust Engineer at Acme Robotics. You will build \
                  distributed systems with Kafka and PostgreSQL, mentor junior engineers and \
                  own machine learning pipelines.";
        let analysis = analyse(ad).expect("analysable");
        assert_eq!(analysis.job_title, "Senior Rust Engineer");
        assert_eq!(analysis.company, "Acme Robotics");
        assert_eq!(analysis.seniority, "senior");
        for skill in [
            "Rust",
            "Kafka",
            "PostgreSQL",
            "Machine Learning",
            "Distributed Systems",
        ] {
            assert!(analysis.skills.iter().any(|s| s == skill), "{skill}");
        }
    }

    #[test]
    fn short_or_empty_fails() {
        assert!(analyse("   ").is_err());
        assert!(
            analyse("Rust dev wanted")
                .unwrap_err()
                .contains("too short")
        );
    }

    #[test]
    fn word_boundaries_hold() {
        assert!(find_skills("We trust our rusty, javaesque tools").is_empty());
        assert_eq!(find_skills("We use Java."), vec!["Java"]);
        assert_eq!(
            find_skills("k8s and postgres"),
            vec!["PostgreSQL", "Kubernetes"]
        );
        assert_eq!(
            find_skills("CI/CD with C++ and C#"),
            vec!["C++", "C#", "CI/CD"]
        );
    }
}
