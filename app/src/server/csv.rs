//! CSV downloads (a holder's history, the office's reports): one rule for every field.

/// A field: always quoted, inner quotes doubled, and a leading `=`, `+`, `-` or `@` defused so
/// that a spreadsheet shows the text instead of running it as a formula.
pub fn field(text: &str) -> String {
    let t = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", t.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        let cases = [
            ("东区\"一\"食堂", "\"东区\"\"一\"\"食堂\""),
            ("=HYPERLINK(1)", "\"'=HYPERLINK(1)\""),
            ("-12.00", "\"'-12.00\""),
            ("plain", "\"plain\""),
            ("", "\"\""),
        ];
        for (text, want) in cases {
            assert_eq!(field(text), want, "{text}");
        }
    }
}
