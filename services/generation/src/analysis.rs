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
    "entwickler",
    "ingenieur",
    "berater",
    "programista",
    "inżynier",
    "analityk",
    "kierownik",
    "specjalista",
    "développeur",
    "ingénieur",
    "desarrollador",
    "ingeniero",
    "analista",
    "especialista",
    "μηχανικός",
    "προγραμματιστής",
    "sviluppatore",
    "ingegnere",
    "programmatore",
    "desenvolvedor",
    "engenheiro",
    "programador",
];

/// Labels of the job title line, in the languages of the labelled set (compared
/// case-insensitively; `:` or a full-width `：` follows).
const TITLE_LABELS: &[&str] = &[
    "title",
    "job title",
    "position",
    "role",
    "stelle",
    "jobtitel",
    "stanowisko",
    "poste",
    "intitulé du poste",
    "puesto",
    "cargo",
    "θέση",
    "職種",
    "募集職種",
    "ポジション",
];

/// Labels of the company line.
const COMPANY_LABELS: &[&str] = &[
    "company",
    "employer",
    "organisation",
    "organization",
    "firma",
    "unternehmen",
    "arbeitgeber",
    "pracodawca",
    "entreprise",
    "société",
    "empresa",
    "εταιρεία",
    "会社名",
    "企業名",
    "会社",
];

/// Verbs of `<Company> <verb> [article] <Title>`.
const HIRING_VERBS: &[&str] = &[
    "is hiring",
    "is looking for",
    "is seeking",
    "are hiring",
    "sucht",
    "poszukuje",
    "zatrudni",
    "recrute",
    "busca",
    "αναζητά",
    "αναζητεί",
];

/// Words between a hiring verb and the title: articles and "the position of".
const BEFORE_TITLE: &[&str] = &[
    "a",
    "an",
    "the",
    "eine",
    "einen",
    "ein",
    "un",
    "une",
    "una",
    "έναν",
    "μια",
    "ένα",
    "position",
    "of",
    "role",
    "stanowisko",
    "na",
    "osoby",
    "poste",
    "de",
];

/// Legal forms that end a company name.
const LEGAL_FORMS: &[&str] = &[
    "GmbH", "AG", "SE", "KG", "Ltd", "Ltd.", "Inc", "Inc.", "LLC", "plc", "S.A.", "SA", "SAS",
    "S.L.", "S.p.A.", "o.o.", "A.E.", "Α.Ε.", "B.V.", "N.V.", "Oy", "AB", "SARL",
];

/// `("Senior Rust Engineer", "Acme")` from the ad, empty strings when not found, by
/// these rules in order: `Title:` / `Company:` lines (in several languages); "Title
/// at Company"; "Company is hiring a Title" (and its German, Polish, French, Spanish
/// and Greek forms); "Join Company as a Title"; "... na stanowisko Title"; a first
/// line or heading that ends in a role word. A company still missing is the ad's
/// first name with a legal form (GmbH, S.A., Sp. z o.o., ...) or the capitalised
/// name it repeats most. Gender markers like "(m/w/d)" are dropped from titles.
pub fn title_and_company(text: &str) -> (String, String) {
    let mut title = labelled(text, TITLE_LABELS);
    let mut company = labelled(text, COMPANY_LABELS);
    for line in text.lines() {
        if !title.is_empty() && !company.is_empty() {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for (found_title, found_company) in [
            title_at_company(&words),
            hiring(line),
            join_as(&words),
            (after_words(&words, &["stanowisko"]), String::new()),
        ] {
            if title.is_empty() {
                title = found_title;
            }
            if company.is_empty() {
                company = found_company;
            }
        }
    }
    // A job board's header: the title and the company on lines of their own among
    // the first three, each maybe followed by " – Location", " · Full-time", ...
    let header: Vec<&str> = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .filter(|l| !l.is_empty())
        .take(3)
        .map(head)
        .collect();
    if title.is_empty()
        && let Some(line) = header
            .iter()
            .find(|l| ends_in_role(l) && l.chars().count() <= 80)
    {
        title = without_gender(line);
    }
    if company.is_empty() {
        company = header
            .iter()
            .find(|l| !ends_in_role(l) && is_name(l))
            .map(|l| (*l).to_owned())
            .unwrap_or_default();
    }
    if company.is_empty() {
        company = at_we(text);
    }
    if company.is_empty() {
        company = leading_company(text);
    }
    if company.is_empty() {
        company = repeated_name(text, &title);
    }
    (without_gender(&title), company)
}

/// The part of a header line before " – ", " - ", " | ", " · " or ", " (the rest is
/// location, contract or team), without Markdown emphasis.
fn head(line: &str) -> &str {
    let mut end = line.len();
    for separator in [" \u{2013} ", " - ", " | ", " \u{b7} ", ", ", " \u{2014} "] {
        if let Some(at) = line.find(separator) {
            end = end.min(at);
        }
    }
    line[..end].trim().trim_matches(['*', '_']).trim()
}

/// Whether `line` looks like a company name alone: one to five words, each
/// capitalised or a legal form, the first not a common word.
fn is_name(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    (1..=5).contains(&words.len())
        && words.iter().all(|w| {
            LEGAL_FORMS.contains(w) || matches!(*w, "Sp." | "z" | "&") || is_capitalised(clean(w))
        })
        && !NOT_NAMES.contains(&words[0].to_lowercase().as_str())
        && find_skills(line).is_empty()
}

/// First words of a line that is not a company name.
const NOT_NAMES: &[&str] = &[
    "about",
    "remote",
    "full-time",
    "part-time",
    "posted",
    "über",
    "o",
    "qui",
    "chi",
    "our",
    "we",
    "the",
    "responsibilities",
    "requirements",
    "benefits",
];

/// "At Fernhill Health we build ...": the company of a careers page.
fn at_we(text: &str) -> String {
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            if !matches!(*word, "At" | "Na" | "Bei" | "Chez" | "Da" | "En") {
                continue;
            }
            let run = capitalised_run_after(&words[i + 1..]);
            let next = words.get(i + 1 + run.split_whitespace().count()).copied();
            if !run.is_empty()
                && next.is_some_and(|n| {
                    matches!(
                        n,
                        "we" | "wir" | "nous" | "desenvolvemos" | "we're" | "siamo"
                    )
                })
            {
                return run;
            }
        }
    }
    String::new()
}

/// Whether `word` (lowercase) is a role word ("engineer", "entwickler"), or its
/// English plural.
pub fn is_role_word(word: &str) -> bool {
    ROLE_WORDS.contains(&word)
        || word
            .strip_suffix('s')
            .is_some_and(|w| ROLE_WORDS.contains(&w))
}

/// Whether `text` has a role word ("Project Manager IT", "BI Analyst"; in Japanese,
/// a word ending in one).
fn ends_in_role(text: &str) -> bool {
    tokens(text).iter().any(|w| {
        ROLE_WORDS.contains(&w.as_str())
            || ["エンジニア", "マネージャー"]
                .iter()
                .any(|r| w.ends_with(r))
    })
}

/// "Senior Engineer at Acme" among `words`.
fn title_at_company(words: &[&str]) -> (String, String) {
    for (i, word) in words.iter().enumerate() {
        if !matches!(*word, "at" | "@" | "bei") || i == 0 {
            continue;
        }
        let before = capitalised_run_before(&words[..i]);
        if !ends_in_role(&before) {
            continue;
        }
        let after = capitalised_run_after(&words[i + 1..]);
        if !after.is_empty() {
            return (before, after);
        }
    }
    (String::new(), String::new())
}

/// "Acme Robotics is hiring a Senior Engineer" (and other languages) in `line`.
fn hiring(line: &str) -> (String, String) {
    for verb in HIRING_VERBS {
        let Some(at) = line.find(&format!(" {verb} ")) else {
            continue;
        };
        let before: Vec<&str> = line[..at].split_whitespace().collect();
        let after: Vec<&str> = line[at + verb.len() + 2..].split_whitespace().collect();
        let company = company_run_before(&before);
        // The title follows the first article within a few words, or the verb.
        let start = after
            .iter()
            .take(6)
            .position(|w| BEFORE_TITLE.contains(&w.to_lowercase().as_str()))
            .map_or(0, |i| i + 1);
        let mut rest = &after[start..];
        while rest
            .first()
            .is_some_and(|w| BEFORE_TITLE.contains(&w.to_lowercase().as_str()))
        {
            rest = &rest[1..];
        }
        let title = capitalised_run_after(rest);
        if !company.is_empty() || ends_in_role(&title) {
            return (
                if ends_in_role(&title) {
                    title
                } else {
                    String::new()
                },
                company,
            );
        }
    }
    (String::new(), String::new())
}

/// "Join Fernleaf Health as a Senior Product Manager".
fn join_as(words: &[&str]) -> (String, String) {
    let Some(join) = words.iter().position(|w| w.eq_ignore_ascii_case("join")) else {
        return (String::new(), String::new());
    };
    let Some(as_at) = words[join..]
        .iter()
        .position(|w| *w == "as")
        .map(|i| i + join)
    else {
        return (String::new(), String::new());
    };
    let company = capitalised_run_after(&words[join + 1..as_at]);
    let mut rest = &words[as_at + 1..];
    while rest
        .first()
        .is_some_and(|w| matches!(*w, "a" | "an" | "our"))
    {
        rest = &rest[1..];
    }
    let title = capitalised_run_after(rest);
    (
        if ends_in_role(&title) {
            title
        } else {
            String::new()
        },
        company,
    )
}

/// The capitalised run after the first of `markers` in `words`, if it ends in a role
/// word.
fn after_words(words: &[&str], markers: &[&str]) -> String {
    words
        .iter()
        .position(|w| markers.contains(&w.to_lowercase().as_str()))
        .map(|i| capitalised_run_after(&words[i + 1..]))
        .filter(|title| ends_in_role(title))
        .unwrap_or_default()
}

/// The company name ending just before a verb: capitalised words and legal forms
/// ("Solvera Systems S.A.", "Kwadrat Mobile Sp. z o.o.", "Die Lieferkiste GmbH").
fn company_run_before(words: &[&str]) -> String {
    let mut run: Vec<&str> = Vec::new();
    let mut taken = 0;
    for word in words.iter().rev() {
        let word = word.trim_end_matches(',');
        let legal = LEGAL_FORMS.contains(&word) || matches!(word, "Sp." | "z");
        let cleaned = clean(word);
        if cleaned.is_empty() || !(legal || is_capitalised(cleaned)) {
            break;
        }
        run.push(if legal { word } else { cleaned });
        taken += 1;
    }
    // "... a fintech in Amsterdam, is hiring": a place, not the company.
    let before = words.len().checked_sub(taken + 1).map(|i| words[i]);
    if before.is_some_and(|w| PLACE_WORDS.contains(&w)) {
        return String::new();
    }
    run.reverse();
    run.join(" ")
}

/// Prepositions that put a capitalised name in a place.
const PLACE_WORDS: &[&str] = &[
    "in", "at", "from", "near", "w", "we", "à", "en", "em", "a", "di", "da", "aus", "von", "bei",
];

/// The ad's first capitalised name that ends in a legal form.
fn leading_company(text: &str) -> String {
    for line in text.lines().take(5) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut end = 0;
        for (i, word) in words.iter().enumerate() {
            let word = word.trim_end_matches(',');
            if LEGAL_FORMS.contains(&word) && i > 0 {
                end = i + 1;
                break;
            }
            let cleaned = clean(word);
            if cleaned.is_empty() || !(is_capitalised(cleaned) || matches!(word, "Sp." | "z")) {
                break;
            }
        }
        if end > 0 {
            return company_run_before(&words[..end]);
        }
    }
    String::new()
}

/// The capitalised name of two to four words the ad repeats most (at least twice),
/// other than the title and skills.
fn repeated_name(text: &str, title: &str) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let mut run: Vec<&str> = Vec::new();
            while i < words.len() {
                let cleaned = clean(words[i]);
                if cleaned.is_empty() || !is_capitalised(cleaned) {
                    break;
                }
                run.push(cleaned);
                i += 1;
                if words[i - 1].ends_with([',', '.', ':', ';', '!', '?', ')', '*']) {
                    break;
                }
            }
            i += 1;
            if !(2..=4).contains(&run.len()) {
                continue;
            }
            let name = run.join(" ");
            if name.eq_ignore_ascii_case(title.trim())
                || ends_in_role(&name)
                || !find_skills(&name).is_empty()
            {
                continue;
            }
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => counts.push((name, 1)),
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, count)| *count >= 2)
        .max_by_key(|(_, count)| *count)
        .map(|(name, _)| name)
        .unwrap_or_default()
}

/// `title` without a trailing gender marker: "(m/w/d)", "(H/F)", "(k/m)", "(f/m/x)".
fn without_gender(title: &str) -> String {
    let trimmed = title.trim();
    if let Some(open) = trimmed.rfind('(') {
        let marker = &trimmed[open..];
        if marker.ends_with(')') && marker.contains('/') && marker.chars().count() <= 9 {
            return trimmed[..open].trim().to_owned();
        }
    }
    trimmed.to_owned()
}

fn labelled(text: &str, labels: &[&str]) -> String {
    for line in text.lines() {
        if let Some((label, value)) = line.split_once([':', '\u{ff1a}']) {
            let label = label.trim().trim_start_matches(['#', '*', '-']).trim();
            let label = label.trim_end_matches('*').trim();
            if labels
                .iter()
                .any(|l| label.to_lowercase() == l.to_lowercase())
            {
                let value = value.trim().trim_matches('*').trim();
                if !value.is_empty() && value.chars().count() <= 80 {
                    return without_gender(value);
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
        let end = word.trim_end_matches(['"', '\'', '\u{201d}', '\u{2019}']);
        if end.ends_with([',', '.', ':', ';', '!', '?', ')']) {
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
