//! CSV downloads (a holder's history, the office's reports): one rule for every field; and
//! CSV lists sent to the card office (enrolments, bills): one reader for every list.

use crate::portal_model::Problem;

/// Reads a list: a header line naming the columns (each column by any of its names in
/// `columns`, English or Chinese), then one record per line. Answers each record's line in the
/// file as a person counts it, with its values in the order of `columns` (empty where the file
/// has no such column). An unknown column is refused, so a misspelt header is not silently
/// ignored, and so is a missing `required` one. Blank records are skipped.
pub fn read_table(
    text: &str,
    columns: &[&[&str]],
    required: &[usize],
) -> Result<Vec<(usize, Vec<String>)>, Problem> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| Problem::CsvHeader {
            column: String::new(),
        })?
        .clone();
    let mut found = Vec::new();
    for h in headers.iter() {
        let Some(at) = columns.iter().position(|names| names.contains(&h)) else {
            return Err(Problem::CsvHeader {
                column: h.chars().take(30).collect(),
            });
        };
        found.push(at);
    }
    for &at in required {
        if !found.contains(&at) {
            return Err(Problem::CsvHeader {
                column: columns[at][0].into(),
            });
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                return Err(Problem::CsvLine {
                    line: i64::try_from(line).unwrap_or(i64::MAX),
                });
            }
        };
        // The line in the file as a person counts it: from the record's byte offset (the
        // reader's own line count leaves out the blank lines it skips).
        let line = record.position().map_or(i + 2, |p| {
            let bytes = text.as_bytes();
            let mut at = usize::try_from(p.byte())
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            // The position may be where the skipped blank lines began.
            while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
                at += 1;
            }
            bytes[..at].iter().filter(|b| **b == b'\n').count() + 1
        });
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let mut values = vec![String::new(); columns.len()];
        for (&at, value) in found.iter().zip(record.iter()) {
            values[at] = value.to_string();
        }
        rows.push((line, values));
    }
    Ok(rows)
}

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
