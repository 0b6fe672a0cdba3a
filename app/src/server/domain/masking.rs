//! What of a person a screen may show: enough for a cashier or a finder to confirm, not a
//! whole name on a till's display.

/// "李*然": the first and last characters of a name, the rest starred.
pub fn masked_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_first_and_last_character() {
        let cases = [
            ("", ""),
            ("李", "*"),
            ("李然", "李*"),
            ("李浩然", "李*然"),
            ("欧阳嘉怡", "欧**怡"),
            ("Ann", "A*n"),
        ];
        for (name, want) in cases {
            assert_eq!(masked_name(name), want, "{name}");
        }
    }
}
