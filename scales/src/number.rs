//! Strict scanning of the numbers balances print.
//!
//! Balances pad with spaces, print `+` for zero, put the sign apart from the digits (G&G,
//! Radwag), wrap the verification digit of legal-for-trade balances in brackets
//! (Radwag `18.32[0]`, Shimadzu, Sartorius) and some print a decimal comma. This module turns
//! such a field into the printed text and an exact decimal, and refuses anything that is not
//! plainly a number: error text and placeholders (`Error 10b`, `~~~~`, `9999999E+19`) sit in
//! the number's columns in several families (reference §11.11).

use rust_decimal::Decimal;

/// A number as printed and as an exact decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Number {
    /// Sign and digits as printed, padding and brackets removed, a decimal comma kept.
    pub printed: String,
    /// The exact value, with the printed number of decimals.
    pub value: Decimal,
}

/// The longest digit run accepted; a decimal holds 28 significant digits.
const MAX_DIGITS: usize = 20;

/// Scans a number at the start of `text` (after leading spaces) and returns it with the rest
/// of the text, which starts right after the last digit, point or bracket.
///
/// A comma is taken as the decimal mark only when no point appears: balances never print a
/// thousands separator, so `1,234` can only mean one and a bit (reference §11.10).
pub(crate) fn scan(text: &str) -> Option<(Number, &str)> {
    let trimmed = text.trim_start();
    let mut chars = trimmed.char_indices().peekable();
    let mut sign = None;
    if let Some(&(_, c)) = chars.peek()
        && (c == '+' || c == '-')
    {
        sign = Some(c);
        chars.next();
        // The sign may stand apart from the digits (G&G `-  450.38`, Radwag frames).
        while let Some(&(_, ' ')) = chars.peek() {
            chars.next();
        }
    }

    let mut digits = String::new();
    let mut separators = 0;
    let mut end = trimmed.len();
    for (index, c) in chars {
        match c {
            '0'..='9' => digits.push(c),
            '.' | ',' => {
                separators += 1;
                digits.push(c);
            }
            '[' | ']' => {}
            _ => {
                end = index;
                break;
            }
        }
    }
    let digit_count = digits.chars().filter(char::is_ascii_digit).count();
    if digit_count == 0 || digit_count > MAX_DIGITS || separators > 1 {
        return None;
    }

    let mut printed = String::with_capacity(digits.len() + 1);
    if let Some(sign) = sign {
        printed.push(sign);
    }
    printed.push_str(&digits);
    let mut exact = digits.replace(',', ".");
    if exact.ends_with('.') {
        // DeltaRange balances blank the last decimal place (MT-SICS p.8): `12.3 ` reads `12.`.
        exact.pop();
    }
    if exact.starts_with('.') {
        exact.insert(0, '0');
    }
    let mut value = Decimal::from_str_exact(&exact).ok()?;
    if sign == Some('-') {
        value.set_sign_negative(true);
    }
    Some((Number { printed, value }, &trimmed[end..]))
}

/// Scans a field that must be a number and nothing else.
pub(crate) fn whole(text: &str) -> Option<Number> {
    let (number, rest) = scan(text)?;
    rest.trim().is_empty().then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &str) -> Option<(String, String, String)> {
        scan(text).map(|(n, rest)| (n.printed, n.value.to_string(), rest.to_owned()))
    }

    #[test]
    fn keeps_printed_digits_and_scale() {
        let (printed, value, rest) = scanned("  +0013.538  g").unwrap();
        assert_eq!(
            (printed.as_str(), value.as_str(), rest.as_str()),
            ("+0013.538", "13.538", "  g")
        );
        assert_eq!(scanned("0.010g").unwrap().1, "0.010");
    }

    #[test]
    fn sign_may_stand_apart_from_digits() {
        let (printed, value, _) = scanned("-   450.38 GN").unwrap();
        assert_eq!((printed.as_str(), value.as_str()), ("-450.38", "-450.38"));
    }

    #[test]
    fn decimal_comma_is_kept_as_printed() {
        let (printed, value, _) = scanned("50,000 g").unwrap();
        assert_eq!((printed.as_str(), value.as_str()), ("50,000", "50.000"));
    }

    #[test]
    fn verification_brackets_are_dropped() {
        assert_eq!(scanned("18.32[0] g").unwrap().1, "18.320");
    }

    #[test]
    fn error_text_and_placeholders_are_not_numbers() {
        for text in ["Error 10b", "~~~~~~", "----", "^^^^", "", "-", "1.2.3", "1,2.3"] {
            assert!(whole(text).is_none(), "{text:?}");
        }
        assert!(whole("9999999E+19").is_none());
    }

    #[test]
    fn negative_zero_keeps_its_printed_sign() {
        let number = whole("-0.00").unwrap();
        assert_eq!(number.printed, "-0.00");
        assert!(number.value.is_zero());
    }
}
