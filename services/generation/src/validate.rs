//! The document validator: coverage of the ad's requirements, an ATS-style score, and
//! honesty (no skill, employer or year the CV lacks; no words lifted from the ad as
//! padding). Every rejection says what to change.
//!
//! - **Requirements** are the skills the ad asks for (the analysis'). A requirement
//!   is *claimable* when the CV shows it.
//! - **Keyword coverage** is the percent of the requirements the document mentions,
//!   counting only claimable ones (a document cannot make up for a CV that lacks a
//!   skill). In a cover letter a mention counts only inside a sentence about it: a
//!   sentence with fewer than [`WORDS_PER_SKILL`] words per skill it names is a
//!   pasted list and earns nothing. A resume's skills section counts as it is.
//! - **ATS score** (0..=100): coverage (60), the job title named (10), length within
//!   bounds (10), structure (10: headings or three paragraphs), no tables (10).
//! - The thresholds ([`MIN_COVERAGE`], [`MIN_ATS_SCORE`]) come from measurement on the
//!   labelled pairs in `tests/data/pairs` (`tests/quality.rs`, figures in the README).

use crate::analysis::capitalised_run_after;
use crate::vocabulary::{canonical, find_skills, has_skill, mentions, tokens};

/// Shortest acceptable document, in characters.
pub const MIN_CHARS: usize = 200;
/// Longest acceptable document, in characters.
pub const MAX_CHARS: usize = 12_000;
/// Least keyword coverage (percent of the ad's requirements) that passes.
pub const MIN_COVERAGE: i32 = 50;
/// Least ATS score that passes.
pub const MIN_ATS_SCORE: i32 = 65;
/// Fewest words per skill named in a sentence of a letter for its mentions to
/// count: below it, the sentence is a pasted list.
pub const WORDS_PER_SKILL: usize = 3;
/// Ad words (not skills, not in the CV) in one sentence that make it padding.
pub const PADDING_WORDS: usize = 3;

/// What a document may state and what it is measured against.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub cv_text: String,
    pub job_title: String,
    pub company: String,
    /// Years the document may mention besides the CV's (e.g. the letter's date).
    pub allowed_years: Vec<String>,
    /// The skills the ad asks for (canonical names).
    pub requirements: Vec<String>,
    /// The ad's most frequent words (the analysis' keywords).
    pub ad_keywords: Vec<String>,
    /// What the document is.
    pub kind: Kind,
}

/// What a document is, as the validator treats it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// Skills count only in sentences about them.
    #[default]
    CoverLetter,
    /// A skills section counts.
    Resume,
    /// Questions about skills are not claims, and a CV that matches little is what
    /// preparation is for: coverage and ATS are reported, not required.
    InterviewPrep,
}

impl Kind {
    /// From the generation service's kind name (`cover_letter`, `resume`,
    /// `interview_prep`).
    pub fn of(name: &str) -> Self {
        match name {
            "resume" => Kind::Resume,
            "interview_prep" => Kind::InterviewPrep,
            _ => Kind::CoverLetter,
        }
    }
}

impl Evidence {
    /// The requirements the CV shows.
    pub fn claimable(&self) -> Vec<String> {
        let cv_skills = find_skills(&self.cv_text);
        self.requirements
            .iter()
            .filter(|r| has_skill(&cv_skills, r))
            .cloned()
            .collect()
    }
}

/// The validator's verdict on one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// 0..=100.
    pub keyword_coverage: i32,
    /// 0..=100.
    pub ats_score: i32,
    /// Empty when the document passes; each says what to change.
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

/// The keywords a truthful document can use: those the CV has too (skills by
/// vocabulary, other words as words). The rest would only be lifted from the ad.
pub fn claimable_keywords(keywords: &[String], cv_text: &str) -> Vec<String> {
    keywords
        .iter()
        .filter(|k| mentions(cv_text, k))
        .cloned()
        .collect()
}

/// The sentences of `content`: split at full stops, question and exclamation marks
/// and semicolons that end a word, at line breaks and at `。`.
fn sentences(content: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = content.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        // A full stop inside a word (".NET", "ASP.NET", "2.5") does not end a sentence.
        let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        let ends =
            matches!(c, '\n' | '\u{3002}') || (matches!(c, '.' | '!' | '?' | ';') && next_is_space);
        if ends {
            out.push(content[start..at].trim());
            start = at + c.len_utf8();
        }
    }
    out.push(content[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Whether `content` mentions `skill` in a way that counts: anywhere in a resume; in
/// a letter, in a sentence of at least five words and [`WORDS_PER_SKILL`] words per
/// skill it names.
fn counts(content: &str, skill: &str, kind: Kind) -> bool {
    if kind != Kind::CoverLetter {
        return mentions(content, skill);
    }
    sentences(content).into_iter().any(|sentence| {
        let words = tokens(sentence).len();
        mentions(sentence, skill)
            && words >= 5
            && words >= WORDS_PER_SKILL * find_skills(sentence).len()
    })
}

/// Validates `content` against the `evidence`.
pub fn validate(content: &str, evidence: &Evidence) -> Validation {
    let mut reasons = Vec::new();
    let claimable = evidence.claimable();
    let required = evidence.requirements.len();
    let covered: Vec<&String> = claimable
        .iter()
        .filter(|skill| counts(content, skill, evidence.kind))
        .collect();
    let keyword_coverage = (covered.len() * 100)
        .checked_div(required)
        .map_or(100, |percent| i32::try_from(percent).unwrap_or(100));
    let title_named = evidence.job_title.trim().is_empty()
        || content
            .to_lowercase()
            .contains(&evidence.job_title.trim().to_lowercase());
    let ats_score = ats_score(content, keyword_coverage, title_named);

    let chars = content.chars().count();
    if chars < MIN_CHARS {
        reasons.push(format!(
            "too short: {chars} characters (at least {MIN_CHARS}); add a sentence about \
             what you did with the skills the ad asks for"
        ));
    }
    if chars > MAX_CHARS {
        reasons.push(format!(
            "too long: {chars} characters (at most {MAX_CHARS}); keep what fits the ad"
        ));
    }
    let gated = evidence.kind != Kind::InterviewPrep;
    if gated && keyword_coverage < MIN_COVERAGE {
        reasons.push(coverage_reason(
            keyword_coverage,
            evidence,
            &claimable,
            &covered,
        ));
    }
    if gated && ats_score < MIN_ATS_SCORE {
        let mut fix = Vec::new();
        if keyword_coverage < 100 && covered.len() < claimable.len() {
            fix.push("cover more of the required skills your CV shows".to_owned());
        }
        if !title_named {
            fix.push(format!("name the role ({})", evidence.job_title.trim()));
        }
        if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
            fix.push(format!(
                "keep it between {MIN_CHARS} and {MAX_CHARS} characters"
            ));
        }
        if fix.is_empty() {
            fix.push("the CV matches too few of the ad's requirements".to_owned());
        }
        reasons.push(format!(
            "ATS score {ats_score} is below {MIN_ATS_SCORE}: {}",
            fix.join("; ")
        ));
    }
    reasons.extend(padding(content, evidence));
    reasons.extend(factuality(content, evidence));
    Validation {
        keyword_coverage,
        ats_score,
        reasons,
    }
}

/// Why coverage is low, and what the user can change.
fn coverage_reason(
    coverage: i32,
    evidence: &Evidence,
    claimable: &[String],
    covered: &[&String],
) -> String {
    let missing: Vec<&str> = claimable
        .iter()
        .filter(|c| !covered.contains(c))
        .map(String::as_str)
        .collect();
    let absent: Vec<&str> = evidence
        .requirements
        .iter()
        .filter(|r| !has_skill(claimable, r))
        .map(String::as_str)
        .collect();
    let mut reason = format!(
        "keyword coverage {coverage}% is below {MIN_COVERAGE}%: it covers {} of the {} skills \
         the ad asks for",
        covered.len(),
        evidence.requirements.len()
    );
    if !missing.is_empty() {
        reason.push_str(&format!(
            "; your CV shows {}: say in a sentence what you did with each",
            missing.join(", ")
        ));
    }
    if !absent.is_empty() {
        reason.push_str(&format!(
            "; your CV does not show {}: if you have them, add them to your CV (a document \
             states only what the CV shows)",
            absent.join(", ")
        ));
    }
    reason
}

/// Sentences that string together words lifted from the ad (not skills, not in the
/// CV, not the role or company): padding, as reasons.
pub fn padding(content: &str, evidence: &Evidence) -> Vec<String> {
    let own = format!(
        "{} {} {}",
        evidence.cv_text, evidence.job_title, evidence.company
    );
    let lifted: Vec<&String> = evidence
        .ad_keywords
        .iter()
        .filter(|k| canonical(k).is_none() && !mentions(&own, k))
        .collect();
    let mut reasons = Vec::new();
    for sentence in sentences(content) {
        let words: Vec<&str> = lifted
            .iter()
            .filter(|k| mentions(sentence, k))
            .map(|k| k.as_str())
            .collect();
        if words.len() >= PADDING_WORDS {
            reasons.push(format!(
                "strings together words lifted from the ad ({}) without saying what you \
                 did: drop them or back each with an example from your CV",
                words.join(", ")
            ));
        }
    }
    reasons
}

/// 0..=100: coverage (60), the job title named (10), length within bounds (10),
/// structure (10: headings or several paragraphs), no tables (10).
pub fn ats_score(content: &str, keyword_coverage: i32, title_named: bool) -> i32 {
    let mut score = keyword_coverage.clamp(0, 100) * 60 / 100;
    if title_named {
        score += 10;
    }
    if (MIN_CHARS..=MAX_CHARS).contains(&content.chars().count()) {
        score += 10;
    }
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
    // Naming the role applied for ("Especialista en SEO y CRM") claims nothing.
    let mut claims = content.to_owned();
    for target in [&evidence.job_title, &evidence.company] {
        if !target.trim().is_empty() {
            claims = claims.replace(target.trim(), " ");
        }
    }
    // Interview preparation asks about the ad's skills; asking is not claiming.
    let skills = if evidence.kind == Kind::InterviewPrep {
        Vec::new()
    } else {
        find_skills(&claims)
    };
    for skill in skills {
        if !has_skill(&cv_skills, &skill) {
            reasons.push(format!(
                "claims the skill {skill}, which the CV does not mention"
            ));
        }
    }
    let cv_lower = evidence.cv_text.to_lowercase();
    let target = format!("{} {}", evidence.job_title, evidence.company).to_lowercase();
    let mut employers: Vec<String> = Vec::new();
    // Line by line: a name on the next line ("... at Acme\nAda Lovelace") is not
    // part of the employer's.
    for line in content.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            if !matches!(*word, "at" | "for" | "At" | "For") {
                continue;
            }
            let employer = capitalised_run_after(&words[i + 1..]);
            let first = employer.split_whitespace().next().unwrap_or_default();
            if employer.is_empty()
                || NOT_EMPLOYERS.contains(&first)
                || canonical(&employer).is_some()
            {
                continue;
            }
            let lower = employer.to_lowercase();
            if !cv_lower.contains(&lower)
                && !target.contains(&lower)
                && !employers.contains(&employer)
            {
                employers.push(employer);
            }
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

    fn evidence(requirements: &[&str], kind: Kind) -> Evidence {
        Evidence {
            cv_text: "Ada Lovelace\nBuilt Kafka consumers in Rust at Globex.\n\
                      Tuned PostgreSQL queries for the billing team.\nSkills: Rust, Kafka, \
                      PostgreSQL, Docker"
                .into(),
            job_title: "Backend Engineer".into(),
            company: "Acme".into(),
            requirements: requirements.iter().map(|r| (*r).to_owned()).collect(),
            ad_keywords: ["event", "senior", "platform", "kafka", "ownership"]
                .map(String::from)
                .to_vec(),
            kind,
            ..Evidence::default()
        }
    }

    const OPENING: &str = "Dear Hiring Manager at Acme,\n\nI am writing to apply for the \
                           Backend Engineer role at Acme, where I would like to contribute.";
    const CLOSING: &str = "Thank you for considering my application.\n\nKind regards,\nAda";

    #[test]
    fn a_pasted_skills_line_earns_no_coverage_in_a_letter() {
        let e = evidence(
            &["Rust", "Kafka", "PostgreSQL", "Docker"],
            Kind::CoverLetter,
        );
        let pasted = format!("{OPENING}\n\nSkills: Rust, Kafka, PostgreSQL, Docker\n\n{CLOSING}");
        let verdict = validate(&pasted, &e);
        assert_eq!(verdict.keyword_coverage, 0, "{verdict:?}");
        assert!(!verdict.passed());
        assert!(
            verdict.reasons[0].contains("say in a sentence what you did with each"),
            "{verdict:?}"
        );
        let said = format!(
            "{OPENING}\n\nI built Kafka consumers in Rust at Globex. I tuned PostgreSQL \
             queries for the billing team every week. I package services with Docker for \
             every release.\n\n{CLOSING}"
        );
        let verdict = validate(&said, &e);
        assert_eq!(verdict.keyword_coverage, 100, "{verdict:?}");
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(verdict.ats_score, 100);
        // In a resume the skills section counts as it is.
        let resume = evidence(&["Rust", "Kafka", "PostgreSQL", "Docker"], Kind::Resume);
        assert_eq!(validate(&pasted, &resume).keyword_coverage, 100);
    }

    #[test]
    fn coverage_is_of_the_ads_requirements_and_says_what_the_cv_lacks() {
        let e = evidence(
            &["Golang", "Kubernetes", "Terraform", "GCP", "Rust"],
            Kind::CoverLetter,
        );
        let letter = format!(
            "{OPENING}\n\nI built Kafka consumers in Rust at Globex for two teams.\n\n{CLOSING}"
        );
        let verdict = validate(&letter, &e);
        assert_eq!(verdict.keyword_coverage, 20);
        assert!(verdict.ats_score < MIN_ATS_SCORE, "{verdict:?}");
        let reason = &verdict.reasons[0];
        assert!(
            reason.contains("your CV does not show Golang, Kubernetes, Terraform, GCP"),
            "{reason}"
        );
        assert!(reason.contains("add them to your CV"), "{reason}");
    }

    #[test]
    fn words_lifted_from_the_ad_are_padding() {
        let e = evidence(&["Kafka"], Kind::CoverLetter);
        let padded = format!(
            "{OPENING}\n\nI built Kafka consumers in Rust at Globex for the billing team. \
             I also noted the emphasis on event, senior, platform and ownership.\n\n{CLOSING}"
        );
        let verdict = validate(&padded, &e);
        assert_eq!(verdict.keyword_coverage, 100);
        let padding: Vec<&String> = verdict
            .reasons
            .iter()
            .filter(|r| r.contains("lifted from the ad"))
            .collect();
        assert_eq!(padding.len(), 1, "{verdict:?}");
        assert!(
            padding[0].contains("event, senior, platform, ownership"),
            "{padding:?}"
        );
    }

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
