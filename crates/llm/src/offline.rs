//! Offline provider: composes a readable, deterministic document from [`DocumentFacts`] alone.
//!
//! It states only what the facts give (name, role, company, matched skills, the
//! keywords the CV also has, highlights) and never invents skills, employers or dates. A cover letter says each
//! matched skill in a sentence of its own, backed by the CV line that mentions it; no
//! word is lifted from the ad as padding. Feedback is honoured in two ways:
//! a request for a shorter text ("short", "concise", "brief") trims the document, and any
//! skill, keyword or highlight the feedback mentions is moved to the front.

use crate::request::DocumentFacts;

/// Model name reported for offline completions.
pub(crate) const MODEL: &str = "offline-template-v1";

const HIGHLIGHT_LEADS: &[&str] = &[
    "Most relevant here: ",
    "Also worth noting: ",
    "In addition: ",
    "Further: ",
];

/// Composes the document described by `facts` (`kind` "resume", anything else is a cover letter).
pub(crate) fn compose(facts: &DocumentFacts) -> String {
    let plan = Plan::new(facts);
    match facts.kind.trim().to_ascii_lowercase().as_str() {
        "resume" => resume(&plan),
        "interview_prep" => interview_prep(&plan),
        _ => cover_letter(&plan),
    }
}

/// Cleaned-up facts with feedback applied.
struct Plan {
    name: String,
    title: String,
    company: String,
    skills: Vec<String>,
    /// Keywords not already among the skills (the CV has them too).
    extra_keywords: Vec<String>,
    highlights: Vec<String>,
    concise: bool,
}

impl Plan {
    fn new(facts: &DocumentFacts) -> Self {
        let feedback = facts
            .feedback
            .as_deref()
            .map(str::to_lowercase)
            .unwrap_or_default();
        let concise = ["short", "concise", "brief", "condense"]
            .iter()
            .any(|w| feedback.contains(w));
        let skills = emphasise(dedupe(&facts.matched_skills), &feedback);
        let extra_keywords = emphasise(dedupe(&facts.keywords), &feedback)
            .into_iter()
            .filter(|k| !skills.iter().any(|s| s.eq_ignore_ascii_case(k)))
            .collect();
        let mut highlights = emphasise(dedupe(&facts.highlights), &feedback);
        if concise {
            highlights.truncate(2);
        }
        Self {
            name: or(&facts.candidate_name, "The applicant"),
            title: or(&facts.job_title, "advertised"),
            company: or(&facts.company, "your organisation"),
            skills,
            extra_keywords,
            highlights,
            concise,
        }
    }
}

fn cover_letter(p: &Plan) -> String {
    let mut paragraphs = Vec::new();
    paragraphs.push(format!("Dear Hiring Manager at {},", p.company));

    let mut opening = format!(
        "I am writing to apply for the {} role at {}.",
        p.title, p.company
    );
    if !p.concise {
        opening.push_str(&format!(
            " What I have done so far fits what {} is looking for, and I would like to show how.",
            p.company
        ));
    }
    paragraphs.push(opening);

    // One sentence per matched skill, backed by the CV line that mentions it when
    // there is one: the skills are said in context, never pasted as a list.
    let mut used: Vec<&str> = Vec::new();
    let mut fit = Vec::new();
    for skill in &p.skills {
        if fit.iter().any(|f: &String| mentions_word(f, skill)) {
            continue;
        }
        let backing = p
            .highlights
            .iter()
            .find(|h| !used.contains(&h.as_str()) && mentions_word(h, skill));
        match backing {
            Some(line) => {
                used.push(line);
                fit.push(format!("With {skill}: {}", sentence(line)));
            }
            None => fit.push(match fit.len() % 3 {
                0 => format!("I have hands-on experience with {skill}, which this role asks for."),
                1 => format!("I have also worked with {skill}, as my CV shows."),
                _ => format!("My CV also shows {skill}, which is on your list."),
            }),
        }
    }
    if !p.extra_keywords.is_empty() {
        fit.push(format!(
            "My experience also covers {}.",
            join(&p.extra_keywords)
        ));
    }
    if !fit.is_empty() {
        paragraphs.push(fit.join(" "));
    }

    let rest: Vec<&String> = p
        .highlights
        .iter()
        .filter(|h| !used.contains(&h.as_str()))
        .collect();
    if !rest.is_empty() {
        let sentences: Vec<String> = rest
            .iter()
            .enumerate()
            .map(|(i, h)| {
                format!(
                    "{}{}",
                    HIGHLIGHT_LEADS[i % HIGHLIGHT_LEADS.len()],
                    sentence(h)
                )
            })
            .collect();
        paragraphs.push(sentences.join(" "));
    }

    let closing = if p.concise {
        "Thank you for your time; I would be glad to talk further.".to_owned()
    } else {
        format!(
            "Thank you for considering my application. I would be glad to discuss how I can contribute to {} in the {} role.",
            p.company, p.title
        )
    };
    paragraphs.push(closing);
    paragraphs.push(format!("Kind regards,\n{}", p.name));
    paragraphs.join("\n\n")
}

fn resume(p: &Plan) -> String {
    let mut sections = Vec::new();
    sections.push(format!(
        "{}\n{} — application to {}",
        p.name, p.title, p.company
    ));

    let mut profile = format!(
        "Profile\n{} is applying for the {} role at {}",
        p.name, p.title, p.company
    );
    if p.skills.is_empty() {
        profile.push('.');
    } else {
        profile.push_str(&format!(", bringing {}.", join(&p.skills)));
    }
    if !p.extra_keywords.is_empty() {
        profile.push_str(&format!(
            "\nExperience also covers {}.",
            join(&p.extra_keywords)
        ));
    }
    sections.push(profile);

    if !p.skills.is_empty() {
        sections.push(bullets("Skills", &p.skills));
    }
    if !p.highlights.is_empty() {
        let lines: Vec<String> = p.highlights.iter().map(|h| sentence(h)).collect();
        sections.push(bullets("Highlights", &lines));
    }
    sections.join("\n\n")
}

/// Likely questions about each matched skill and each highlight, with the CV line to
/// answer from, then questions to ask them.
fn interview_prep(p: &Plan) -> String {
    let mut sections = vec![format!(
        "# Interview preparation: {} at {}\n{}",
        p.title, p.company, p.name
    )];
    let mut questions = Vec::new();
    for skill in &p.skills {
        let evidence = p.highlights.iter().find(|h| mentions_word(h, skill));
        let mut question = format!(
            "**{skill}**: where have you used it, what went wrong once, and what would you do \
             differently?"
        );
        if let Some(line) = evidence {
            question.push_str(&format!(" Answer from: {}", sentence(line)));
        }
        questions.push(question);
    }
    for highlight in &p.highlights {
        questions.push(format!(
            "Walk us through this: \"{}\" What was your part, and what changed because of it?",
            sentence(highlight)
        ));
    }
    questions.push(format!(
        "Why {} and why the {} role now?",
        p.company, p.title
    ));
    sections.push(bullets("## Likely questions", &questions));
    if !p.extra_keywords.is_empty() {
        sections.push(format!(
            "## Also be ready to talk about\n{}, which the ad stresses and your CV shows.",
            join(&p.extra_keywords)
        ));
    }
    sections.push(bullets(
        "## Questions to ask them",
        &[
            format!(
                "What would success in the {} role look like after six months?",
                p.title
            ),
            "How does the team decide what to build next?".to_owned(),
            "What is the next step after this interview?".to_owned(),
        ],
    ));
    sections.join("\n\n")
}

fn bullets(title: &str, items: &[String]) -> String {
    let mut out = title.to_owned();
    for item in items {
        out.push_str("\n- ");
        out.push_str(item);
    }
    out
}

fn or(value: &str, fallback: &str) -> String {
    let cleaned = clean(value);
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned
    }
}

fn clean(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trimmed, non-empty, first occurrence kept (case-insensitive).
fn dedupe(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let cleaned = clean(item);
        if !cleaned.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&cleaned)) {
            out.push(cleaned);
        }
    }
    out
}

/// Moves items mentioned in the (lower-cased) feedback to the front, keeping order otherwise.
fn emphasise(items: Vec<String>, feedback: &str) -> Vec<String> {
    if feedback.is_empty() {
        return items;
    }
    let mentioned = |item: &String| {
        let lower = item.to_lowercase();
        feedback.contains(&lower)
            || lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 4)
                .any(|w| feedback.contains(w))
    };
    let (front, back): (Vec<String>, Vec<String>) = items.into_iter().partition(mentioned);
    front.into_iter().chain(back).collect()
}

/// Whether `text` names `word` as a whole word (case-insensitive).
fn mentions_word(text: &str, word: &str) -> bool {
    let word = word.to_lowercase();
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '+' | '#' | '.' | '/')))
        .any(|w| w.trim_end_matches('.') == word)
}

/// "a", "a and b", "a, b and c".
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

/// The text with exactly one closing full stop (keeps `!`/`?`).
fn sentence(text: &str) -> String {
    let trimmed = clean(text)
        .trim_start_matches(['-', '*', '•', ' '])
        .trim_end_matches(['.', ',', ';', ':', ' '])
        .to_owned();
    if trimmed.ends_with(['!', '?']) {
        trimmed
    } else {
        format!("{trimmed}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_reads_naturally() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join(&items(&["a"])), "a");
        assert_eq!(join(&items(&["a", "b"])), "a and b");
        assert_eq!(join(&items(&["a", "b", "c"])), "a, b and c");
    }

    #[test]
    fn sentence_has_one_full_stop() {
        assert_eq!(sentence("- Led the migration."), "Led the migration.");
        assert_eq!(sentence("Shipped it"), "Shipped it.");
    }

    #[test]
    fn feedback_moves_mentions_first_and_concise_trims() {
        let facts = DocumentFacts {
            kind: "cover_letter".into(),
            matched_skills: vec!["Rust".into(), "Kafka".into()],
            highlights: vec!["One".into(), "Two".into(), "Three kafka".into()],
            feedback: Some("Keep it short and stress Kafka".into()),
            ..Default::default()
        };
        let plan = Plan::new(&facts);
        assert_eq!(plan.skills, vec!["Kafka", "Rust"]);
        assert_eq!(plan.highlights, vec!["Three kafka", "One"]);
        assert!(plan.concise);
    }
}
