//! Values as spreadsheets write them: decimal commas, thousands separators, Finnish dates.

/// A number: `1234.5`, `1 234,5`, `1.234,5`, `1,234.5`, `12,5`, with an optional trailing `%`
/// when `percent` is allowed. Returns a message for people on failure.
pub fn number(raw: &str, percent: bool) -> Result<f64, String> {
    // Thousands separators out; a typographic minus (as some spreadsheets write) is a minus.
    let mut s: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .map(|c| if c == '\u{2212}' { '-' } else { c })
        .collect();
    if percent {
        s = s.trim_end_matches('%').to_string();
    }
    if s.is_empty() {
        return Err("empty number".to_string());
    }
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    let normalised = match (commas, dots) {
        (0, 0) => s.clone(),
        // Both: the last one is the decimal separator.
        (c, d) if c > 0 && d > 0 => {
            if s.rfind(',') > s.rfind('.') {
                s.replace('.', "").replace(',', ".")
            } else {
                s.replace(',', "")
            }
        }
        (1, 0) => s.replace(',', "."),
        (_, 0) => s.replace(',', ""),
        (0, 1) => s.clone(),
        _ => s.replace('.', ""),
    };
    normalised
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{}` is not a number", raw.trim()))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

/// A date as `YYYY-MM-DD`, from `YYYY-MM-DD`, `DD.MM.YYYY` or `D.M.YYYY`.
pub fn date(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let bad = || format!("`{s}` is not a date (YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY)");
    let parts: Vec<&str>;
    let (y, m, d) = if s.contains('-') {
        parts = s.split('-').collect();
        if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
            return Err(bad());
        }
        (parts[0], parts[1], parts[2])
    } else {
        parts = s.split('.').collect();
        if parts.len() != 3
            || parts[2].len() != 4
            || parts[0].is_empty()
            || parts[0].len() > 2
            || parts[1].is_empty()
            || parts[1].len() > 2
        {
            return Err(bad());
        }
        (parts[2], parts[1], parts[0])
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return Err(bad());
    };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1900..=2999).contains(&y) {
        return Err(format!("`{s}` is not a real date"));
    }
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

/// A finance period: `YYYY-MM` or `YYYY-Qn` (also `YYYY-qn`).
pub fn period(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_ascii_uppercase();
    let b = s.as_bytes();
    let year_ok = s.len() == 7 && b[4] == b'-' && s[..4].parse::<u16>().is_ok();
    if year_ok && b[5] == b'Q' && (b'1'..=b'4').contains(&b[6]) {
        return Ok(s);
    }
    if year_ok && s[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m)) {
        return Ok(s);
    }
    Err(format!(
        "`{}` is not a period (YYYY-MM or YYYY-Qn)",
        raw.trim()
    ))
}

/// When a KPI was measured: a date (as [`date`] reads them), a period (`YYYY-MM`, `YYYY-Qn`) or
/// a year (`YYYY`); the host counts a period as its last day.
pub fn measured_on(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.len() == 4 && s.parse::<u32>().is_ok_and(|y| (1900..=2999).contains(&y)) {
        return Ok(s.to_string());
    }
    date(s).or_else(|_| period(s)).map_err(|_| {
        format!(
            "`{s}` is neither a date (YYYY-MM-DD, DD.MM.YYYY) nor a period (YYYY-MM, YYYY-Qn, YYYY)"
        )
    })
}

/// A word from a fixed vocabulary, matched case-insensitively with spaces and underscores
/// as hyphens; `aliases` maps other spellings.
pub fn vocabulary(raw: &str, allowed: &[&str], aliases: &[(&str, &str)]) -> Result<String, String> {
    let key = raw.trim().to_lowercase().replace([' ', '_'], "-");
    if let Some(v) = allowed.iter().find(|a| **a == key) {
        return Ok(v.to_string());
    }
    if let Some((_, v)) = aliases.iter().find(|(a, _)| *a == key) {
        return Ok(v.to_string());
    }
    Err(format!(
        "`{}` is not one of {}",
        raw.trim(),
        allowed.join(", ")
    ))
}

/// Decode a field: UTF-8 when it is valid, else Windows-1252 (Excel's "CSV" in Western
/// locales). Decoding per field keeps a file's stray bytes from spoiling the rest.
pub fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_locale() {
        for (raw, want) in [
            ("7.5", 7.5),
            ("7,5", 7.5),
            ("1 234,50", 1234.5),
            ("1\u{a0}234,50", 1234.5),
            ("1.234,50", 1234.5),
            ("1,234.50", 1234.5),
            ("1.234.567", 1_234_567.0),
            ("1,234,567", 1_234_567.0),
            ("-12,25", -12.25),
            ("42", 42.0),
        ] {
            assert_eq!(number(raw, false).unwrap(), want, "{raw}");
        }
        assert_eq!(number("80 %", true).unwrap(), 80.0);
        assert_eq!(number("−184 800", false).unwrap(), -184_800.0);
        assert!(number("80 %", false).is_err());
        assert!(
            number("seven", false)
                .unwrap_err()
                .contains("`seven` is not a number")
        );
        assert!(number("", false).is_err());
    }

    #[test]
    fn dates_iso_and_finnish() {
        assert_eq!(date("2026-03-09").unwrap(), "2026-03-09");
        assert_eq!(date("09.03.2026").unwrap(), "2026-03-09");
        assert_eq!(date("9.3.2026").unwrap(), "2026-03-09");
        assert_eq!(date(" 29.2.2028 ").unwrap(), "2028-02-29");
        assert!(date("29.2.2026").unwrap_err().contains("not a real date"));
        assert!(date("2026/03/09").is_err());
        assert!(date("3/9/2026").is_err());
        assert!(date("2026-3-9").is_err());
    }

    #[test]
    fn periods_and_vocabularies() {
        assert_eq!(period("2026-q3").unwrap(), "2026-Q3");
        assert_eq!(period("2026-11").unwrap(), "2026-11");
        assert!(period("2026-13").is_err() && period("2026-Q5").is_err());
        for (raw, want) in [
            ("2026-q3", "2026-Q3"),
            ("2026-07", "2026-07"),
            ("2026", "2026"),
            ("14.5.2026", "2026-05-14"),
        ] {
            assert_eq!(measured_on(raw).unwrap(), want, "{raw}");
        }
        for raw in ["last week", "26", "2026-13", "31.2.2026"] {
            assert!(measured_on(raw).unwrap_err().contains("neither"), "{raw}");
        }
        let kinds = ["budget", "actual", "planned-benefit", "realised-benefit"];
        let aliases = [("realized-benefit", "realised-benefit")];
        assert_eq!(
            vocabulary("Planned benefit", &kinds, &aliases).unwrap(),
            "planned-benefit"
        );
        assert_eq!(
            vocabulary("REALIZED_BENEFIT", &kinds, &aliases).unwrap(),
            "realised-benefit"
        );
        assert!(
            vocabulary("forecast", &kinds, &aliases)
                .unwrap_err()
                .contains("budget, actual")
        );
    }

    #[test]
    fn windows_1252_fields_decode() {
        assert_eq!(text("Mäkinen".as_bytes()), "Mäkinen");
        assert_eq!(text(b"M\xe4kinen"), "Mäkinen");
        assert_eq!(text(b"\x80 5"), "€ 5");
    }
}
