//! CSV records read one line at a time, as Spark reads CSV without `multiLine`: the file is
//! split at line ends first and each line is parsed alone, so a quote that a line never closes
//! spoils that line only, instead of swallowing the rest of the file into one field.

use super::format::FormatOptions;

/// Parses single lines into CSV fields with a source's `sep`, `quote` and `escape`.
pub(crate) struct CsvLines {
    parser: csv_core::Reader,
    sep: u8,
    quote: u8,
    escape: u8,
    /// The fields of the last line, back to back.
    fields: Vec<u8>,
    /// Where each field of the last line ends in `fields`.
    ends: Vec<usize>,
    /// How many of `ends` the last line filled.
    count: usize,
}

impl CsvLines {
    /// A parser for the options' separator, quote and escape (quotes double inside quotes).
    pub(crate) fn new(options: &FormatOptions) -> Self {
        let parser = csv_core::ReaderBuilder::new()
            .delimiter(options.sep)
            .quote(options.quote)
            .escape(Some(options.escape))
            .double_quote(true)
            // Only a line feed ends a record (the caller cut the line there already); a lone
            // carriage return inside a line is text.
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build();
        CsvLines {
            parser,
            sep: options.sep,
            quote: options.quote,
            escape: options.escape,
            fields: vec![0; 256],
            ends: vec![0; 16],
            count: 0,
        }
    }

    /// Parses `line` (without its line end) into fields. Returns false when a quoted field
    /// is still open at the end of the line: the record is malformed (its fields are parsed
    /// as if the line closed the quote).
    pub(crate) fn parse(&mut self, line: &[u8]) -> bool {
        self.parser.reset();
        let (mut input, mut out, mut ends) = (line, 0, 0);
        loop {
            let (result, read, written, ended) =
                self.parser
                    .read_record(input, &mut self.fields[out..], &mut self.ends[ends..]);
            input = &input[read..];
            // Field ends count from the record's start, across calls.
            out += written;
            ends += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {
                    // The whole line is in; an empty input next tells the parser it ended.
                    input = &[];
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let grown = self.fields.len() * 2;
                    self.fields.resize(grown, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        self.count = ends;
        !self.ends_inside_quotes(line)
    }

    /// How many fields the last line had.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The bytes of field `i` of the last line (`i < len()`).
    pub(crate) fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    /// The fields of the last line, back to back (each field's range is `range(i)`).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.fields[..self.ends[..self.count].last().copied().unwrap_or(0)]
    }

    /// Where field `i` of the last line lies in [`bytes`](Self::bytes).
    pub(crate) fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    /// For each field of `line`, whether it starts with a quote: what tells a quoted empty
    /// field (`""`, Spark's `emptyValue`) from an empty one (`nullValue`).
    pub(crate) fn quoted_fields(&self, line: &[u8]) -> Vec<bool> {
        let mut starts = Vec::with_capacity(self.count);
        self.walk_fields(line, |quoted| starts.push(quoted));
        starts
    }

    /// Whether `line` ends inside a quoted field.
    fn ends_inside_quotes(&self, line: &[u8]) -> bool {
        line.contains(&self.quote) && self.walk_fields(line, |_| {})
    }

    /// Walks `line` by the parser's rules (a quote opens a field only at its start; a doubled
    /// quote or an escaped character inside is text), calling `field` once per field with
    /// whether it starts with a quote (an empty field does not); returns whether the line
    /// ends inside a quoted field.
    fn walk_fields(&self, line: &[u8], mut field: impl FnMut(bool)) -> bool {
        let (mut quoted, mut field_start, mut i) = (false, true, 0);
        while i < line.len() {
            let b = line[i];
            if quoted {
                if b == self.quote {
                    if line.get(i + 1) == Some(&self.quote) {
                        i += 1;
                    } else {
                        quoted = false;
                    }
                } else if b == self.escape {
                    i += 1;
                }
            } else if b == self.sep {
                if field_start {
                    field(false);
                }
                field_start = true;
            } else if field_start {
                quoted = b == self.quote;
                field(quoted);
                field_start = false;
            }
            i += 1;
        }
        if field_start {
            field(false);
        }
        quoted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::file::FileFormat;
    use crate::data::ParseMode;

    fn options() -> FormatOptions {
        FormatOptions {
            format: FileFormat::Csv,
            header: false,
            sep: b',',
            quote: b'"',
            escape: b'\\',
            mode: ParseMode::Permissive,
            null_value: String::new(),
            empty_value: String::new(),
            multi_line: false,
            corrupt_column: crate::data::CORRUPT_RECORD.into(),
        }
    }

    fn fields(parser: &CsvLines) -> Vec<String> {
        (0..parser.len())
            .map(|i| String::from_utf8_lossy(parser.field(i)).into_owned())
            .collect()
    }

    #[test]
    fn quoted_fields_parse_and_an_open_quote_is_reported() {
        let mut p = CsvLines::new(&options());
        assert!(p.parse(br#"a,"b,c",d"#));
        assert_eq!(fields(&p), ["a", "b,c", "d"]);
        assert!(p.parse(br#""say ""hi""",\"x"#));
        assert_eq!(fields(&p), [r#"say "hi""#, r#"\"x"#]);
        assert!(p.parse(br#""a\"b",c"#), "an escaped quote does not close");
        assert_eq!(fields(&p), [r#"a"b"#, "c"]);
        assert!(!p.parse(br#"1,"open,2"#), "the quote is never closed");
        assert!(p.parse(b"1,ab\"c,2"), "a quote inside a field is text");
        assert_eq!(fields(&p), ["1", "ab\"c", "2"]);
        let line = br#","",a,"b""",,"#;
        assert!(p.parse(line));
        assert_eq!(fields(&p), ["", "", "a", "b\"", "", ""]);
        assert_eq!(p.quoted_fields(line), [false, true, false, true, false, false]);
        assert!(p.parse(b""));
        assert_eq!(p.len(), 0, "an empty line has no record");
        let long = "x".repeat(10_000);
        assert!(p.parse(format!("{long},{long}").as_bytes()));
        assert_eq!(fields(&p), [long.clone(), long]);
        let many = vec!["1"; 100].join(",");
        assert!(p.parse(many.as_bytes()));
        assert_eq!(p.len(), 100);
        assert_eq!(&p.bytes()[p.range(99)], b"1");
    }
}
