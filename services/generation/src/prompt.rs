//! Prompts: the default template per document kind, placeholder filling, the
//! [`CompletionRequest`] sent to the chain, and the response-cache key.

use sagaflow_events::messages::DocumentKind;
use sagaflow_llm::{CompletionRequest, DocumentFacts};
use sha2::{Digest, Sha256};

/// The LLM's standing instructions: the factuality rules the validator enforces.
pub const SYSTEM: &str = "You write job application documents. Use only the facts given: \
never claim a skill, employer, qualification or date that is not in the candidate's \
highlights or skills. Write plain text or simple Markdown; no tables.";

/// The default cover-letter template.
pub const COVER_LETTER_TEMPLATE: &str = "Write a one-page cover letter from {candidate_name} \
for the {job_title} role at {company}. Emphasise these matching skills: {skills}. Work in \
these keywords where truthful: {keywords}. Draw only on these CV highlights: {highlights}. \
Open with a greeting, close with \"Kind regards\" and the candidate's name.";

/// The default resume template.
pub const RESUME_TEMPLATE: &str = "Write a tailored one-page resume for {candidate_name}, \
applying for the {job_title} role at {company}. Sections: Profile, Skills, Highlights. \
Skills: {skills}. Keywords to reflect where truthful: {keywords}. Highlights from the CV: \
{highlights}.";

/// The default interview-preparation template.
pub const INTERVIEW_PREP_TEMPLATE: &str = "Prepare {candidate_name} for an interview for the \
{job_title} role at {company}. List the questions an interviewer is likely to ask about these \
skills the role needs and the CV shows: {skills}, and about these CV highlights: {highlights}. \
For each, give talking points drawn only from the CV. End with questions the candidate could \
ask. Plain text or simple Markdown.";

/// `cover_letter`, `resume` or `interview_prep`, the names [`DocumentFacts::kind`] uses.
pub fn kind_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::CoverLetter => "cover_letter",
        DocumentKind::Resume => "resume",
        DocumentKind::InterviewPrep => "interview_prep",
    }
}

/// The template for `kind` when the user gave none (or an empty one).
pub fn template_for<'a>(kind: &str, user_template: Option<&'a str>) -> &'a str {
    match user_template.map(str::trim) {
        Some(template) if !template.is_empty() => template,
        _ if kind == "resume" => RESUME_TEMPLATE,
        _ if kind == "interview_prep" => INTERVIEW_PREP_TEMPLATE,
        _ => COVER_LETTER_TEMPLATE,
    }
}

/// Fills `{candidate_name}`, `{job_title}`, `{company}`, `{skills}`, `{keywords}` and
/// `{highlights}`; other braces stay as they are.
pub fn render(template: &str, facts: &DocumentFacts) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "(none)".to_owned()
        } else {
            items.join(", ")
        }
    };
    template
        .replace("{candidate_name}", &facts.candidate_name)
        .replace("{job_title}", &facts.job_title)
        .replace("{company}", &facts.company)
        .replace("{skills}", &list(&facts.matched_skills))
        .replace("{keywords}", &list(&facts.keywords))
        .replace("{highlights}", &facts.highlights.join("; "))
}

/// The request for one completion.
pub fn request(
    facts: &DocumentFacts,
    user_template: Option<&str>,
    max_tokens: u32,
) -> CompletionRequest {
    let mut prompt = render(template_for(&facts.kind, user_template), facts);
    if let Some(feedback) = facts.feedback.as_deref().filter(|f| !f.trim().is_empty()) {
        prompt.push_str("\n\nA previous draft was rejected. Fix this:\n");
        prompt.push_str(feedback);
    }
    CompletionRequest {
        system: SYSTEM.to_owned(),
        prompt,
        max_tokens,
        temperature: 0.2,
        facts: facts.clone(),
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalise_all(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|i| normalise(i))
        .filter(|i| !i.is_empty())
        .collect()
}

/// Hex sha256 of the normalised inputs (kind, facts, template, feedback): whitespace
/// runs collapse, empty list items drop, an empty template is the default one.
pub fn cache_key(facts: &DocumentFacts, user_template: Option<&str>) -> String {
    let normalised = serde_json::json!({
        "kind": normalise(&facts.kind),
        "candidate_name": normalise(&facts.candidate_name),
        "job_title": normalise(&facts.job_title),
        "company": normalise(&facts.company),
        "matched_skills": normalise_all(&facts.matched_skills),
        "keywords": normalise_all(&facts.keywords),
        "highlights": normalise_all(&facts.highlights),
        "template": normalise(template_for(&facts.kind, user_template)),
        "feedback": facts.feedback.as_deref().map(normalise).filter(|f| !f.is_empty()),
    });
    let digest = Sha256::digest(normalised.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> DocumentFacts {
        DocumentFacts {
            kind: "cover_letter".into(),
            candidate_name: "Ada Lovelace".into(),
            job_title: "Rust Engineer".into(),
            company: "Acme".into(),
            matched_skills: vec!["Rust".into()],
            keywords: vec!["kafka".into()],
            highlights: vec!["Built things".into()],
            feedback: None,
        }
    }

    #[test]
    fn user_template_placeholders_fill() {
        let request = request(
            &facts(),
            Some("Dear {company}, I am {candidate_name} ({skills}) {x}"),
            100,
        );
        assert_eq!(request.prompt, "Dear Acme, I am Ada Lovelace (Rust) {x}");
    }

    #[test]
    fn cache_key_ignores_whitespace_but_not_content() {
        let mut spaced = facts();
        spaced.candidate_name = " Ada   Lovelace ".into();
        assert_eq!(cache_key(&facts(), None), cache_key(&spaced, Some("  ")));
        let mut other = facts();
        other.feedback = Some("shorter".into());
        assert_ne!(cache_key(&facts(), None), cache_key(&other, None));
    }
}
