//! Offline provider: deterministic, grounded in the facts only.

use sagaflow_llm::{Chain, CompletionRequest, DocumentFacts};

use crate::common::*;

/// Common skills that are NOT in `facts()`; the offline text must mention none of them.
const FOREIGN_SKILLS: &[&str] = &[
    "Python",
    "Java",
    "JavaScript",
    "TypeScript",
    "Go",
    "Golang",
    "C++",
    "C#",
    "Ruby",
    "PHP",
    "Kubernetes",
    "Docker",
    "AWS",
    "Azure",
    "GCP",
    "Terraform",
    "React",
    "Angular",
    "Node.js",
    "MongoDB",
    "MySQL",
    "Redis",
    "Spark",
    "Hadoop",
    "TensorFlow",
    "PyTorch",
    "Excel",
    "Scrum",
    "Agile",
    "Leadership",
    "Teamwork",
    "Communication",
    "Machine Learning",
    "GraphQL",
    "Linux",
];

fn has_word(text: &str, word: &str) -> bool {
    let lower = text.to_lowercase();
    let word = word.to_lowercase();
    lower.match_indices(&word).any(|(i, _)| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
    })
}

async fn compose(facts: DocumentFacts) -> sagaflow_llm::Completion {
    let request = CompletionRequest { facts, ..request() };
    Chain::offline()
        .complete(&request)
        .await
        .expect("offline never fails")
}

#[tokio::test]
async fn cover_letter_is_deterministic_and_grounded() {
    let first = compose(facts()).await;
    let second = compose(facts()).await;
    assert_eq!(first, second);

    assert!(first.offline);
    assert_eq!(first.provider, "offline");
    assert_eq!(first.model, "offline-template-v1");
    assert_eq!(first.cost_micros, 0);
    let words = first.text.split_whitespace().count() as u32;
    assert_eq!(first.output_tokens, words * 4 / 3);
    assert!(first.input_tokens > 0);

    let text = &first.text;
    for needle in [
        "Ada Lovelace",
        "Backend Engineer",
        "Acme Robotics",
        "Rust",
        "PostgreSQL",
        "Kafka",
        "event sourcing",
        "observability",
        "Cut checkout latency by 40%",
        "on-call rotation",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    for skill in FOREIGN_SKILLS {
        assert!(!has_word(text, skill), "invented {skill:?} in:\n{text}");
    }
    assert!(!text.to_lowercase().contains("lorem"));
    assert!(text.starts_with("Dear "));
    assert!(text.trim_end().ends_with("Ada Lovelace"));
}

#[tokio::test]
async fn feedback_changes_the_letter() {
    let plain = compose(facts()).await.text;
    let shorter = compose(DocumentFacts {
        feedback: Some("Please make it shorter.".into()),
        highlights: vec!["One".into(), "Two".into(), "Three".into()],
        ..facts()
    })
    .await
    .text;
    assert!(shorter.contains("One") && shorter.contains("Two"));
    assert!(!shorter.contains("Three"));
    assert!(shorter.len() < plain.len());

    let stressed = compose(DocumentFacts {
        feedback: Some("Put Kafka up front".into()),
        ..facts()
    })
    .await
    .text;
    let position = |skill: &str| stressed.find(skill).unwrap_or(usize::MAX);
    assert!(position("Kafka") < position("Rust"), "{stressed}");
    assert!(position("Rust") < position("PostgreSQL"), "{stressed}");
    // Each skill in a sentence of its own, not a pasted list.
    assert!(
        stressed.contains("I have hands-on experience with Kafka, which this role asks for."),
        "{stressed}"
    );
}

#[tokio::test]
async fn resume_lists_skills_and_highlights() {
    let resume = compose(DocumentFacts {
        kind: "resume".into(),
        ..facts()
    })
    .await;
    let text = &resume.text;
    assert!(text.starts_with("Ada Lovelace\nBackend Engineer"), "{text}");
    assert!(
        text.contains("\nSkills\n- Rust\n- PostgreSQL\n- Kafka"),
        "{text}"
    );
    assert!(text.contains("- Cut checkout latency by 40%"), "{text}");
    assert!(text.contains("event sourcing"));
    for skill in FOREIGN_SKILLS {
        assert!(!has_word(text, skill), "invented {skill:?} in:\n{text}");
    }
    assert_ne!(text, &compose(facts()).await.text);
}

#[tokio::test]
async fn empty_facts_still_read_well() {
    let c = compose(DocumentFacts::default()).await;
    assert!(!c.text.contains("  "));
    assert!(!c.text.contains(" ."));
    assert!(!c.text.contains("{"));
    assert!(c.text.len() > 50);
}
