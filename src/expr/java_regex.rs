//! Regular expressions read as Spark reads them: with Java's `Pattern` and its default flags.
//!
//! Spark's `rlike`, `regexp_extract`, `regexp_replace` and `split` compile their patterns with
//! `java.util.regex.Pattern`, whose `\w`, `\d`, `\s` and `\b` are ASCII-only unless the
//! pattern asks for Unicode. Rust's `regex` reads them as Unicode classes, so `\w+` would take
//! `Äbc` whole where Spark takes `bc`. [`translate`] rewrites those classes into their ASCII
//! forms and leaves the rest of the pattern as it is.

use std::borrow::Cow;

/// The members of Java's `\w`, `\d` and `\s` (`[a-zA-Z_0-9]`, `[0-9]`, `[ \t\n\x0B\f\r]`), as
/// they may stand inside a character class.
const WORD: &str = "0-9A-Za-z_";
const DIGIT: &str = "0-9";
const SPACE: &str = r" \t\n\x0B\x0C\r";

/// `pattern` with Java's ASCII meaning of `\w`, `\W`, `\d`, `\D`, `\s`, `\S`, `\b` and `\B`
/// spelled out for Rust's `regex`; borrowed unchanged when it has none of them.
pub(crate) fn translate(pattern: &str) -> Cow<'_, str> {
    if !pattern.contains('\\') {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    // How deep inside character classes (Java, like Rust, nests them: `[a-z&&[^aeiou]]`).
    let mut class_depth = 0usize;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let inside = class_depth > 0;
                match (escaped, inside) {
                    ('w', false) => out.push_str(&format!("[{WORD}]")),
                    ('W', false) => out.push_str(&format!("[^{WORD}]")),
                    ('d', false) => out.push_str(&format!("[{DIGIT}]")),
                    ('D', false) => out.push_str(&format!("[^{DIGIT}]")),
                    ('s', false) => out.push_str(&format!("[{SPACE}]")),
                    ('S', false) => out.push_str(&format!("[^{SPACE}]")),
                    ('b', false) => out.push_str(r"(?-u:\b)"),
                    ('B', false) => out.push_str(r"(?-u:\B)"),
                    ('w', true) => out.push_str(WORD),
                    ('d', true) => out.push_str(DIGIT),
                    ('s', true) => out.push_str(SPACE),
                    ('W', true) => out.push_str(&format!("[^{WORD}]")),
                    ('D', true) => out.push_str(&format!("[^{DIGIT}]")),
                    ('S', true) => out.push_str(&format!("[^{SPACE}]")),
                    (other, _) => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                class_depth += 1;
                out.push('[');
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::translate;

    fn first_match(pattern: &str, text: &str) -> Option<String> {
        let regex = Regex::new(&translate(pattern)).expect("compiles");
        regex.find(text).map(|m| m.as_str().to_string())
    }

    #[test]
    fn word_digit_and_space_classes_are_ascii_as_in_java() {
        // Spark 4.3 here: regexp_extract('Äbc-déf', '(\\w+)', 1) = 'bc'.
        assert_eq!(first_match(r"\w+", "Äbc-déf").as_deref(), Some("bc"));
        assert_eq!(first_match(r"\d+", "x٣42").as_deref(), Some("42"));
        assert_eq!(first_match(r"\s", "a\u{00A0}b c").as_deref(), Some(" "));
        assert_eq!(first_match(r"[\w-]+", "é-ab-c é").as_deref(), Some("-ab-c"));
        assert_eq!(first_match(r"[^\w]+", "abé!c").as_deref(), Some("é!"));
        assert_eq!(first_match(r"\W", "abé").as_deref(), Some("é"));
        assert_eq!(first_match(r"[\W]", "abé").as_deref(), Some("é"));
        // Java's `\b` sees a boundary between `a` and `é`, which is no word character there.
        let boundary = Regex::new(&translate(r"\bé")).expect("compiles");
        assert_eq!(boundary.find("aé é").map(|m| m.start()), Some(1));
    }

    #[test]
    fn other_escapes_and_plain_patterns_are_left_as_they_are() {
        assert_eq!(translate("a+b"), "a+b");
        assert_eq!(translate(r"\.\\\[x\]"), r"\.\\\[x\]");
        assert_eq!(translate(r"\\w"), r"\\w", "an escaped backslash, then a w");
        assert_eq!(first_match(r"\\w", r"a\wb").as_deref(), Some(r"\w"));
        assert_eq!(translate(r"[a\]]\w"), r"[a\]][0-9A-Za-z_]");
    }
}
