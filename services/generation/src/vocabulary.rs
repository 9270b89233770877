//! The skill vocabulary and the word-level text helpers every rule uses.
//!
//! Text is split into lowercase tokens (letters, digits and `+ # .` so `c++`,
//! `c#` and `node.js` survive; a trailing full stop is dropped). A skill matches
//! when its tokens appear consecutively: word boundaries for free, and multi-word
//! skills like "machine learning" work the same way.

/// Canonical skill names; each matches its own tokens, plus the aliases in [`ALIASES`].
/// Ambiguous everyday words (Go, Excel, R) are left out on purpose: the factuality
/// check must not flag "I'd go further" as a claimed skill; Go is found as `Golang`
/// or, written exactly so, next to another skill ([`find_skills`]).
pub const SKILLS: &[&str] = &[
    // Languages
    "Rust",
    "Java",
    "Kotlin",
    "Scala",
    "Python",
    "JavaScript",
    "TypeScript",
    "C++",
    "C#",
    "Ruby",
    "PHP",
    "Elixir",
    "Erlang",
    "Haskell",
    "Clojure",
    "Golang",
    "Perl",
    "Bash",
    "SQL",
    "GraphQL",
    "HTML",
    "CSS",
    "Solidity",
    "MATLAB",
    // Frameworks and libraries
    "React",
    "Angular",
    "Vue",
    "Node.js",
    "Django",
    "Flask",
    "FastAPI",
    "Rails",
    "Tokio",
    "Axum",
    "Spring Boot",
    ".NET",
    "TensorFlow",
    "PyTorch",
    "Pandas",
    "NumPy",
    "Spark",
    "Hadoop",
    // Data and infrastructure
    "PostgreSQL",
    "MySQL",
    "MongoDB",
    "Redis",
    "Elasticsearch",
    "Cassandra",
    "DynamoDB",
    "Kafka",
    "RabbitMQ",
    "Docker",
    "Kubernetes",
    "Terraform",
    "Ansible",
    "AWS",
    "Azure",
    "GCP",
    "Linux",
    "Git",
    "CI/CD",
    "Jenkins",
    "GitHub Actions",
    "Prometheus",
    "Grafana",
    "gRPC",
    "REST API",
    "Microservices",
    "Snowflake",
    "Airflow",
    "dbt",
    "BigQuery",
    "Looker",
    "Datadog",
    "OpenTelemetry",
    "Flutter",
    "Google Analytics",
    "Google Search Console",
    "HubSpot",
    "Jetpack Compose",
    "Next.js",
    "SwiftUI",
    "Xcode",
    "Firebase",
    "Selenium",
    "Cypress",
    "Playwright",
    "Jest",
    "JUnit",
    "pytest",
    "Postman",
    "OpenAPI",
    "Confluence",
    "Markdown",
    "scikit-learn",
    "Splunk",
    "Burp Suite",
    "Miro",
    "Helm",
    "Sentry",
    "Storybook",
    "Svelte",
    "Tailwind CSS",
    "Webpack",
    "Maven",
    "Gradle",
    "Hibernate",
    "Laravel",
    "Symfony",
    "NestJS",
    "Unity",
    // Practices and domains
    "Machine Learning",
    "Deep Learning",
    "Data Science",
    "Data Analysis",
    "Data Engineering",
    "Natural Language Processing",
    "Computer Vision",
    "Distributed Systems",
    "Event Sourcing",
    "Domain-Driven Design",
    "Test-Driven Development",
    "DevOps",
    "SRE",
    "Cryptography",
    "WebAssembly",
    // Business
    "Agile",
    "Scrum",
    "Kanban",
    "Project Management",
    "Product Management",
    "Stakeholder Management",
    "Financial Modeling",
    "SEO",
    "CRM",
    "Salesforce",
    "SAP",
    "Tableau",
    "Power BI",
    "Jira",
    "Figma",
    "Copywriting",
    "Public Speaking",
    "Negotiation",
    "Budgeting",
    "Recruiting",
    "Customer Success",
    "Digital Marketing",
];

/// Other spellings: (alias, canonical skill).
pub const ALIASES: &[(&str, &str)] = &[
    ("postgres", "PostgreSQL"),
    ("k8s", "Kubernetes"),
    ("nodejs", "Node.js"),
    ("node", "Node.js"),
    ("js", "JavaScript"),
    ("ts", "TypeScript"),
    ("ml", "Machine Learning"),
    ("nlp", "Natural Language Processing"),
    ("amazon web services", "AWS"),
    ("google cloud", "GCP"),
    ("react.js", "React"),
    ("reactjs", "React"),
    ("vue.js", "Vue"),
    ("ci", "CI/CD"),
    ("ddd", "Domain-Driven Design"),
    ("tdd", "Test-Driven Development"),
    ("wasm", "WebAssembly"),
    ("ruby on rails", "Rails"),
    ("rest apis", "REST API"),
    ("restful", "REST API"),
    ("nextjs", "Next.js"),
    // The same skills as ads in other languages write them.
    ("zarządzanie projektami", "Project Management"),
    ("zarządzaniu projektami", "Project Management"),
    ("zarządzania projektami", "Project Management"),
    ("projektmanagement", "Project Management"),
    ("gestion de projet", "Project Management"),
    ("gestión de proyectos", "Project Management"),
    ("budżetowanie", "Budgeting"),
    ("budżetowania", "Budgeting"),
    ("vision par ordinateur", "Computer Vision"),
    ("apprentissage automatique", "Machine Learning"),
    ("maschinelles lernen", "Machine Learning"),
    ("aprendizaje automático", "Machine Learning"),
    ("marketing digital", "Digital Marketing"),
    ("marketing cyfrowy", "Digital Marketing"),
    ("redacción publicitaria", "Copywriting"),
];

/// Whether `c` is written without spaces between words (Han, kana, Hangul): a
/// change between such a script and another is a word boundary ("Rustの経験").
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xFF66..=0xFF9F | 0xAC00..=0xD7AF)
}

/// `text` with a space wherever it changes between a CJK script and another.
fn spaced_scripts(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_cjk) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut previous: Option<bool> = None;
    for c in text.chars() {
        let cjk = is_cjk(c);
        if previous.is_some_and(|p| p != cjk) && c.is_alphanumeric() {
            out.push(' ');
        }
        if c.is_alphanumeric() {
            previous = Some(cjk);
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// Lowercase word tokens of `text` (see the module docs).
pub fn tokens(text: &str) -> Vec<String> {
    spaced_scripts(text)
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '+' | '#' | '.')))
        // ".net" keeps its dot; "end." loses it.
        .map(|word| word.trim_end_matches('.').to_lowercase())
        .filter(|word| !word.is_empty())
        .collect()
}

/// The tokens of a skill or phrase, as they must appear in text.
fn phrase_tokens(phrase: &str) -> Vec<String> {
    tokens(&phrase.replace(['-', '/'], " "))
}

/// Whether `needle` (a phrase) occurs in `haystack` (tokens) as consecutive tokens.
pub fn contains_phrase(haystack: &[String], needle: &str) -> bool {
    let needle = phrase_tokens(needle);
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window.iter().zip(&needle).all(|(a, b)| a == b))
}

/// Text tokens with hyphenated words also split, so "domain-driven" matches.
fn skill_tokens(text: &str) -> Vec<String> {
    tokens(&text.replace(['-', '/'], " "))
}

/// The canonical skills mentioned in `text`, in vocabulary order, without duplicates.
pub fn find_skills(text: &str) -> Vec<String> {
    let haystack = skill_tokens(text);
    let mut found: Vec<String> = Vec::new();
    for skill in SKILLS {
        let aliases = ALIASES.iter().filter(|(_, canonical)| canonical == skill);
        let hit = contains_phrase(&haystack, skill)
            || aliases
                .map(|(alias, _)| alias)
                .any(|alias| contains_phrase(&haystack, alias));
        if hit && !found.iter().any(|f| f == skill) {
            found.push((*skill).to_owned());
        }
    }
    if !found.is_empty() {
        for (word, skill) in CASED {
            if !found.iter().any(|f| f == skill) && cased_mention(text, word) {
                found.push((*skill).to_owned());
            }
        }
    }
    found
}

/// Skills that are everyday words too, found only as written here, not at the start
/// of a sentence, in a text that names another skill: (word, canonical skill).
pub const CASED: &[(&str, &str)] = &[("Go", "Golang"), ("Swift", "Swift")];

/// Whether `word` appears exactly so in `text`, not first in a sentence of more than
/// four words.
fn cased_mention(text: &str, word: &str) -> bool {
    text.split(['.', '!', '?', '\n', ':']).any(|sentence| {
        let words: Vec<&str> = sentence
            .split(|c: char| !(c.is_alphanumeric() || c == '#'))
            .filter(|w| !w.is_empty())
            .collect();
        // A short line ("- Go, Kubernetes") is a list item, not a sentence.
        let skip = usize::from(words.len() > 4);
        words.iter().skip(skip).any(|w| *w == word)
    })
}

/// Whether `text` mentions `term` (a skill name or keyword) as a whole word or phrase;
/// vocabulary skills also match by alias.
pub fn mentions(text: &str, term: &str) -> bool {
    let haystack = skill_tokens(text);
    if contains_phrase(&haystack, term) {
        return true;
    }
    match canonical(term) {
        Some(skill) => find_skills(text).iter().any(|s| s == skill),
        None => false,
    }
}

/// The canonical vocabulary name of `term`, if it is a skill or an alias of one.
pub fn canonical(term: &str) -> Option<&'static str> {
    let lower = term.trim().to_lowercase();
    SKILLS
        .iter()
        .find(|s| s.to_lowercase() == lower)
        .copied()
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| *alias == lower)
                .map(|(_, skill)| *skill)
        })
        .or_else(|| {
            CASED
                .iter()
                .find(|(_, skill)| skill.to_lowercase() == lower)
                .map(|(_, skill)| *skill)
        })
}

/// Case-insensitive membership of a skill name in a list.
pub fn has_skill(list: &[String], skill: &str) -> bool {
    list.iter().any(|s| s.eq_ignore_ascii_case(skill))
}

/// Words too common to be keywords.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "across",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "etc",
    "few",
    "for",
    "from",
    "further",
    "get",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "like",
    "may",
    "me",
    "more",
    "most",
    "must",
    "my",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "per",
    "plus",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "within",
    "would",
    "you",
    "your",
    "yours",
    "able",
    "ability",
    "apply",
    "based",
    "best",
    "candidate",
    "company",
    "day",
    "ideal",
    "including",
    "join",
    "looking",
    "new",
    "offer",
    "part",
    "plus",
    "role",
    "strong",
    "team",
    "teams",
    "well",
    "work",
    "working",
    "year",
    "years",
    "experience",
    "job",
    "position",
    "help",
    "make",
    "use",
    "using",
    "want",
    "need",
    "good",
    "great",
    "across",
    "every",
];
