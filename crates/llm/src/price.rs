//! Price table (USD per million tokens) used for [`crate::Completion::cost_micros`].

/// `(model prefix, input USD / 1M tokens, output USD / 1M tokens)`; the longest matching prefix wins.
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-opus-4", 15.00, 75.00),
    ("offline", 0.0, 0.0),
];

/// Price used for models not in the table (self-hosted models usually cost less, never more).
const DEFAULT_PRICE: (f64, f64) = (1.00, 3.00);

/// `(input, output)` USD per million tokens for `model`.
pub fn price_per_million(model: &str) -> (f64, f64) {
    PRICES
        .iter()
        .filter(|(prefix, _, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|&(_, input, output)| (input, output))
        .unwrap_or(DEFAULT_PRICE)
}

/// Cost in USD millionths. USD per million tokens is exactly micro-USD per token.
pub fn cost_micros(model: &str, input_tokens: u32, output_tokens: u32) -> i64 {
    let (input, output) = price_per_million(model);
    let micros = f64::from(input_tokens) * input + f64::from(output_tokens) * output;
    micros.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_default_applies() {
        assert_eq!(price_per_million("gpt-4o-mini-2024-07-18"), (0.15, 0.60));
        assert_eq!(price_per_million("gpt-4o-2024-08-06"), (2.50, 10.00));
        assert_eq!(price_per_million("llama3"), DEFAULT_PRICE);
        assert_eq!(cost_micros("gpt-4o-mini", 1000, 1000), 750);
        assert_eq!(cost_micros("offline-template-v1", 1000, 1000), 0);
    }
}
