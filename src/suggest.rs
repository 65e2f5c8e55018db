//! "Did you mean ...?": the known name nearest to a misspelt one.
//!
//! Shared by the errors for unknown columns and unknown functions, so that both suggest by the
//! same rule.

/// The candidate nearest to `name` by edit distance (ignoring case), if it is at most a third
/// of the candidate's length away (one edit for names of up to five characters). Ties go to
/// the first candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = name.to_lowercase();
    candidates
        .into_iter()
        .enumerate()
        .map(|(order, candidate)| {
            (
                edit_distance(&lowered, &candidate.to_lowercase()),
                order,
                candidate,
            )
        })
        .filter(|(d, _, candidate)| *d <= candidate.chars().count().max(3) / 3)
        .min()
        .map(|(_, _, candidate)| candidate)
}

/// Edit distance over characters where a swap of two neighbours counts as one edit, as in
/// `valeu` for `value` (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_close_name_is_suggested() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("valeu", "value"), 1, "a swap is one edit");
        assert_eq!(closest("valeu", ["value", "key"]), Some("value"));
        assert_eq!(
            closest("date_fromat", ["date_format", "date_add"]),
            Some("date_format")
        );
        assert_eq!(
            closest("Word", ["word"]),
            Some("word"),
            "a different case is suggested"
        );
        assert_eq!(closest("xyz", ["value"]), None, "too far");
        assert_eq!(closest("wrd", ["word", "ward"]), Some("word"), "ties: the first");
    }
}
